rule figure:
    """One paper figure: layers as rows, the original then each activation step as columns."""
    input:
        get_figure_inputs,
    output:
        pdf=paths.figure("{name}", "pdf"),
        png=paths.figure("{name}", "png"),
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
