# Every figure is a config entry (figures.<name>) with a kind; one rule draws them all, each by
# its kind's module in invertibility.figures (inputs, drawing, caption, report section).


rule figure:
    """A figure of the config: its kind's inputs (unpacked by name), drawn by the kind."""
    input:
        unpack(get_figure_inputs),
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=report(
            paths.figure("{name}", "png"),
            caption="../workflow/report/figure.rst",
            category=get_figure_category,
        ),
    log:
        paths.log("figure", name="{name}"),
    benchmark:
        paths.benchmark("figure", name="{name}")
    wildcard_constraints:
        name=names_pattern(PLAN.figures.names()),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_figure_spec,
        caption=get_figure_caption,
        code=script_code("figure.py"),
    script:
        "../workflow/scripts/figure.py"
