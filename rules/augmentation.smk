# the augmentation experiment (experiments.augmentation): its jobs, from the plan's registry
AUGMENTATION = PLAN.experiments["augmentation"]


rule augmentation:
    """One seed of the augmentation experiment: normal training to the last window, then the
    head above each split layer trained from t0 under each arm (docs/augmentation_plan.md).
    """
    input:
        # the train rule's checkpoint at t0: the job checks that its own state there equals it
        checkpoints=lambda wc: paths.checkpoint_dir(
            AUGMENTATION.entry["model"], wc.seed
        ),
    output:
        outcome=paths.augmentation("{model}", "{seed}", "outcome"),
        drift=paths.augmentation("{model}", "{seed}", "drift"),
        similarity=paths.augmentation("{model}", "{seed}", "similarity"),
    log:
        paths.log("augmentation", model="{model}", seed="seed{seed}"),
    benchmark:
        paths.benchmark("augmentation", model="{model}", seed="seed{seed}")
    conda:
        "../envs/torch.yaml"
    threads: resource("train_threads")
    resources:
        mem_mb=resource("augmentation_mem_mb"),
        runtime=resource("train_runtime"),
        gpu_slots=GPU_SLOTS,
        gres=GPU_GRES,
        jobs_per_gpu=JOBS_PER_GPU,
    params:
        spec=lambda wc: canonical(AUGMENTATION.spec(int(wc.seed))),
        code=script_code("augmentation.py"),
    script:
        "../workflow/scripts/augmentation.py"


rule augmentation_tables:
    """Every seed's arms in one table; each window's drift and retained similarity in another."""
    input:
        outcome=lambda wc: AUGMENTATION.per_seed("outcome"),
        drift=lambda wc: AUGMENTATION.per_seed("drift"),
        similarity=lambda wc: AUGMENTATION.per_seed("similarity"),
    output:
        outcome=paths.table("augmentation"),
        windows=paths.table("augmentation_windows"),
    log:
        paths.log("augmentation_tables"),
    benchmark:
        paths.benchmark("augmentation_tables")
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        measured_at=AUGMENTATION.measured_at() if AUGMENTATION.entry else {},
        code=script_code("augmentation_tables.py"),
    script:
        "../workflow/scripts/augmentation_tables.py"
