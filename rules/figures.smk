# Every figure is a config entry (figures.<name>) with a kind; one rule draws each kind.


rule image_grid_figure:
    """A paper figure (1-5): layers as rows, the original then each activation step as columns."""
    input:
        get_image_grid_inputs,
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=report(
            paths.figure("{name}", "png"),
            caption="../workflow/report/figure.rst",
            category="Paper figures",
        ),
    log:
        paths.log("figure", name="{name}"),
    benchmark:
        paths.benchmark("figure", name="{name}")
    wildcard_constraints:
        name=names_pattern(PLAN.figure_names("image_grid")),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_figure_spec,
        code=script_code("image_grid_figure.py"),
    script:
        "../workflow/scripts/image_grid_figure.py"


rule norm_distances_figure:
    """Figure 6: norm distances vs invertibility, one panel per analyses.distances entry."""
    input:
        distances=get_all_distances,
        table=paths.table("invertibility"),
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=report(
            paths.figure("{name}", "png"),
            caption="../workflow/report/fig6.rst",
            category="Paper figures",
        ),
    log:
        paths.log("figure", name="{name}"),
    benchmark:
        paths.benchmark("figure", name="{name}")
    wildcard_constraints:
        name=names_pattern(PLAN.figure_names("norm_distances")),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_figure_spec,
        code=script_code("norm_distances_figure.py"),
    script:
        "../workflow/scripts/norm_distances_figure.py"


rule invertibility_curves_figure:
    """Figure 7 (ours): similarity against activation step, with CI bands and controls."""
    input:
        summary=paths.table("invertibility_summary"),
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=report(
            paths.figure("{name}", "png"),
            caption="../workflow/report/fig7.rst",
            category="Measurements",
        ),
    log:
        paths.log("figure", name="{name}"),
    benchmark:
        paths.benchmark("figure", name="{name}")
    wildcard_constraints:
        name=names_pattern(PLAN.figure_names("invertibility_curves")),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_figure_spec,
        code=script_code("invertibility_curves_figure.py"),
    script:
        "../workflow/scripts/invertibility_curves_figure.py"


rule claims_forest_figure:
    """Each claim's effect with its 95% interval, pooled and per training seed."""
    input:
        claims=paths.claims(),
        by_seed=paths.claims_by_seed(),
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=report(
            paths.figure("{name}", "png"),
            caption="../workflow/report/claims.rst",
            category="Measurements",
        ),
    log:
        paths.log("figure", name="{name}"),
    benchmark:
        paths.benchmark("figure", name="{name}")
    wildcard_constraints:
        name=names_pattern(PLAN.figure_names("claims_forest")),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_figure_spec,
        code=script_code("claims_forest_figure.py"),
    script:
        "../workflow/scripts/claims_forest_figure.py"


rule width_horizons_figure:
    """Horizon and identification against the MLP width (log axis), per layer."""
    input:
        horizons=paths.table("invertibility_horizons"),
        summary=paths.table("invertibility_summary"),
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=report(
            paths.figure("{name}", "png"),
            caption="../workflow/report/width.rst",
            category="Ablations",
        ),
    log:
        paths.log("figure", name="{name}"),
    benchmark:
        paths.benchmark("figure", name="{name}")
    wildcard_constraints:
        name=names_pattern(PLAN.figure_names("width_horizons")),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_figure_spec,
        widths=lambda wc: PLAN.widths(wc.name),
        code=script_code("width_horizons_figure.py"),
    script:
        "../workflow/scripts/width_horizons_figure.py"


rule training_diagnostics_figure:
    """Block gradient-norm ratios, feature norms, residual steps and frame potential."""
    input:
        blocks=get_all_block_diagnostics,
        weights=get_all_weight_diagnostics,
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=report(
            paths.figure("{name}", "png"),
            caption="../workflow/report/diagnostics.rst",
            category="Ablations",
        ),
    log:
        paths.log("figure", name="{name}"),
    benchmark:
        paths.benchmark("figure", name="{name}")
    wildcard_constraints:
        name=names_pattern(PLAN.figure_names("training_diagnostics")),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_figure_spec,
        code=script_code("training_diagnostics_figure.py"),
    script:
        "../workflow/scripts/training_diagnostics_figure.py"


rule predictors_figure:
    """One panel per invertibility predictor, with its rank correlation."""
    input:
        predictors=paths.table("predictors"),
        units=paths.table("predictor_units"),
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=report(
            paths.figure("{name}", "png"),
            caption="../workflow/report/predictors.rst",
            category="Ablations",
        ),
    log:
        paths.log("figure", name="{name}"),
    benchmark:
        paths.benchmark("figure", name="{name}")
    wildcard_constraints:
        name=names_pattern(PLAN.figure_names("predictors")),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_figure_spec,
        code=script_code("predictors_figure.py"),
    script:
        "../workflow/scripts/predictors_figure.py"
