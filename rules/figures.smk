rule figure:
    """One paper figure: layers as rows, the original then each activation step as columns."""
    input:
        get_figure_inputs,
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
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        inputs=lambda wc: canonical(config["figures"][wc.name]),
        code=code_version("figure"),
    script:
        "../workflow/scripts/figure.py"


rule fig6_norm_distances:
    """Figure 6: norm distances vs invertibility."""
    input:
        distances=get_all_distances,
        table=paths.table("invertibility"),
    output:
        pdf=paths.figure("fig6_norm_distances", "pdf"),
        png=report(
            paths.figure("fig6_norm_distances", "png"),
            caption="../workflow/report/fig6.rst",
            category="Paper figures",
        ),
    log:
        paths.log("fig6_norm_distances"),
    benchmark:
        paths.benchmark("fig6_norm_distances")
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("analysis_figure"),
    script:
        "../workflow/scripts/analysis_figure.py"


rule fig7_invertibility_curves:
    """Figure 7 (ours): similarity against activation step, with CI bands and controls."""
    input:
        summary=paths.table("invertibility_summary"),
    output:
        pdf=paths.figure("fig7_invertibility_curves", "pdf"),
        png=report(
            paths.figure("fig7_invertibility_curves", "png"),
            caption="../workflow/report/fig7.rst",
            category="Measurements",
        ),
    log:
        paths.log("fig7_invertibility_curves"),
    benchmark:
        paths.benchmark("fig7_invertibility_curves")
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("analysis_figure"),
    script:
        "../workflow/scripts/analysis_figure.py"
