rule norm_distances:
    """Section 4: how far r_l(x_i) moves across steps vs the distance to other classes."""
    input:
        checkpoints=lambda wc: paths.checkpoint_dir(wc.model),
    output:
        paths.norm_distances("{model}", "{layer}"),
    log:
        paths.log("norm_distances", model="{model}", layer="{layer}"),
    benchmark:
        paths.benchmark("norm_distances", model="{model}", layer="{layer}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=res("invert_mem_mb"),
        runtime=res("invert_runtime"),
    params:
        steps=lambda wc: canonical(PLAN.distance_steps(wc.model, wc.layer)),
        inputs=lambda wc: PLAN.inversion_inputs(wc.model),
        code=code_version("distances"),
    script:
        "../workflow/scripts/norm_distances.py"


rule invertibility_tables:
    """One row per (model, layer, t, tp, image); summaries with bootstrap CIs; horizons."""
    input:
        get_all_inversions,
    output:
        table=paths.table("invertibility"),
        summary=paths.table("invertibility_summary"),
        horizons=paths.table("invertibility_horizons"),
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
        code=code_version("tables"),
    script:
        "../workflow/scripts/invertibility_tables.py"


rule claims:
    """Each claim of the paper: measure, value with its interval, verdict."""
    input:
        table=paths.table("invertibility"),
        distances=get_all_distances,
    output:
        paths.claims(),
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
        claims=lambda wc: canonical(PLAN.claims()),
        code=code_version("tables"),
    script:
        "../workflow/scripts/claims.py"
