rule invert:
    """Invert r_l^tp(x_i) with the earlier layer function r_l^t, for a batch of images."""
    input:
        images=paths.images("{model}"),
        checkpoints=get_inversion_checkpoints,
    output:
        paths.inversion("{model}", "{seed}", "{layer}", "{t}", "{tp}"),
    log:
        paths.log(
            "invert",
            model="{model}",
            seed="seed{seed}",
            layer="{layer}",
            t="{t}",
            tp="{tp}",
        ),
    benchmark:
        paths.benchmark(
            "invert",
            model="{model}",
            seed="seed{seed}",
            layer="{layer}",
            t="{t}",
            tp="{tp}",
        )
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=res("invert_mem_mb"),
        runtime=res("invert_runtime"),
        gpu_slots=GPU_SLOTS,
        gres=GPU_GRES,
    params:
        spec=get_inversion_spec,
        code=script_code("invert.py"),
    script:
        "../workflow/scripts/invert.py"
