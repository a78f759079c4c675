rule train:
    """Train one model with seeded SGD; keep only the steps that some job reads."""
    output:
        checkpoints=directory(paths.checkpoint_dir("{model}")),
        table=paths.training_table("{model}"),
    log:
        paths.log("train", model="{model}"),
    benchmark:
        paths.benchmark("train", model="{model}")
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=res("train_mem_mb"),
        runtime=res("train_runtime"),
        gpu=res("gpu"),
    params:
        steps=lambda wc: PLAN.needed_steps(wc.model),
        inputs=lambda wc: PLAN.training_inputs(wc.model),
        code=code_version("train"),
    script:
        "../workflow/scripts/train.py"
