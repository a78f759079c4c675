# One rule per model: its outputs are exactly the checkpoints of its schedule (models.*.checkpoints),
# so every inversion names the files it reads, and only the model's own config entry (its spec)
# can rerun it; a figure, grid or claim edit never does.
for model in PLAN.trained_models():

    rule:
        """Train one model with seeded SGD; save the steps of its checkpoint schedule."""
        name:
            f"train_{model}"
        output:
            checkpoints=[paths.checkpoint(model, step) for step in PLAN.schedule(model)],
            table=paths.training_table(model),
        log:
            paths.log("train", model=model),
        benchmark:
            paths.benchmark("train", model=model)
        conda:
            "../envs/torch.yaml"
        threads: res("train_threads")
        resources:
            mem_mb=res("train_mem_mb"),
            runtime=res("train_runtime"),
            gpu=res("gpu"),
        params:
            spec=canonical(PLAN.training_spec(model)),
            code=script_code("train.py"),
        script:
            "../workflow/scripts/train.py"
