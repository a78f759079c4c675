rule diagnostics:
    """Per training run: frame potential and drift per checkpoint; per inverted (layer, t, tp),
    how the held-out pool's representation moved and the gradient-norm ratio below the layer.
    """
    input:
        images=paths.images("{model}"),
        checkpoints=paths.checkpoint_dir("{model}", "{seed}"),
        # measured by training, where the whole network is at hand at every saved step
        gradients=paths.checkpoint_gradients("{model}", "{seed}"),
    output:
        weights=paths.diagnostics("{model}", "{seed}", "weights"),
        similarity=paths.diagnostics("{model}", "{seed}", "similarity"),
    log:
        paths.log("diagnostics", model="{model}", seed="seed{seed}"),
    benchmark:
        paths.benchmark("diagnostics", model="{model}", seed="seed{seed}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource("diagnostics_mem_mb"),
        runtime=resource("invert_runtime"),
        gpu_slots=GPU_SLOTS,
        gres=GPU_GRES,
        jobs_per_gpu=JOBS_PER_GPU,
    params:
        spec=lambda wc: canonical(PLAN.diagnostics.spec(wc.model, int(wc.seed))),
        code=script_code("diagnostics.py"),
    script:
        "../workflow/scripts/diagnostics.py"


rule predictors:
    """What predicts invertibility: each candidate's rank correlation with it, over units."""
    input:
        table=paths.table("invertibility"),
        similarity=get_all_similarity,
    output:
        predictors=paths.table("predictors"),
        units=paths.table("predictor_units"),
    log:
        paths.log("predictors"),
    benchmark:
        paths.benchmark("predictors")
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        measure=PLAN.analyses["predictors_measure"],
        code=script_code("predictors.py"),
    script:
        "../workflow/scripts/predictors.py"
