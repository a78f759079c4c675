rule invertibility_tables:
    """One row per (model, layer, t, tp, image); summaries with CIs; horizons, and per seed."""
    input:
        inversions=get_all_inversions,
        accuracy=get_all_accuracies,
        pools=get_all_pools,
        judged=get_all_judged,
    output:
        table=paths.table("invertibility"),
        summary=paths.table("invertibility_summary"),
        horizons=paths.table("invertibility_horizons"),
        horizons_by_seed=paths.table("invertibility_horizons_by_seed"),
    log:
        paths.log("invertibility_tables"),
    benchmark:
        paths.benchmark("invertibility_tables")
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        code=script_code("invertibility_tables.py"),
    script:
        "../workflow/scripts/invertibility_tables.py"


rule judge_labels:
    """One network, trained for the purpose, gives every reconstruction of a dataset a class."""
    input:
        checkpoints=lambda wc: paths.checkpoint_dir(
            PLAN.analyses["label_judges"][wc.dataset]["model"],
            PLAN.analyses["label_judges"][wc.dataset]["seed"],
        ),
        inversions=lambda wc: PLAN.judges.inversions(wc.dataset),
    output:
        paths.judged_labels("{dataset}"),
    log:
        paths.log("judge_labels", dataset="{dataset}"),
    benchmark:
        paths.benchmark("judge_labels", dataset="{dataset}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource("invert_mem_mb"),
        runtime=resource("invert_runtime"),
        gpu_slots=GPU_SLOTS,
        gres=GPU_GRES,
        jobs_per_gpu=JOBS_PER_GPU,
    params:
        spec=lambda wc: canonical(PLAN.judges.spec(wc.dataset)),
        code=script_code("judge_labels.py"),
    script:
        "../workflow/scripts/judge_labels.py"


rule claims:
    """Each claim of the paper and of each experiment family: measure, value with its
    interval, verdict."""
    input:
        table=paths.table("invertibility"),
        distances=get_all_distances,
        similarity=get_all_similarity,
        experiments=lambda wc: list(PLAN.experiments.tables().values()),
    output:
        claims=report(
            paths.claims(),
            caption="../workflow/report/claims.rst",
            category="Measurements",
        ),
        by_seed=paths.claims_by_seed(),
    log:
        paths.log("claims"),
    benchmark:
        paths.benchmark("claims")
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        claims=canonical(PLAN.claims()),
        experiments=PLAN.experiments.tables(),
        code=script_code("claims.py"),
    script:
        "../workflow/scripts/claims.py"


rule claims_sensitivity:
    """Each primary claim's verdict under each specification (docs/analysis_plan.md)."""
    input:
        table=paths.table("invertibility"),
        distances=get_all_distances,
        similarity=get_all_similarity,
        experiments=lambda wc: list(PLAN.experiments.tables().values()),
    output:
        report(
            paths.table("claims_sensitivity"),
            caption="../workflow/report/claims_sensitivity.rst",
            category="Measurements",
        ),
    log:
        paths.log("claims_sensitivity"),
    benchmark:
        paths.benchmark("claims_sensitivity")
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        claims=canonical(PLAN.claims()),
        experiments=PLAN.experiments.tables(),
        code=script_code("claims_sensitivity.py"),
    script:
        "../workflow/scripts/claims_sensitivity.py"
