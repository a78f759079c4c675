rule invert:
    """Invert r_l^tp(x_i) with the earlier layer function r_l^t, for a batch of images."""
    input:
        images=paths.images("{model}"),
        checkpoints=paths.checkpoint_dir("{model}"),
    output:
        paths.inversion("{model}", "{layer}", "{t}", "{tp}"),
    log:
        paths.log("invert", model="{model}", layer="{layer}", t="{t}", tp="{tp}"),
    benchmark:
        paths.benchmark("invert", model="{model}", layer="{layer}", t="{t}", tp="{tp}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=res("invert_mem_mb"),
        runtime=res("invert_runtime"),
        gpu=res("gpu"),
    params:
        spec=get_inversion_spec,
        code=script_code("invert.py"),
    script:
        "../workflow/scripts/invert.py"
