rule invert:
    """Invert r_l^tp(x_i) with the earlier layer function r_l^t, for a batch of images."""
    input:
        checkpoints=lambda wc: paths.checkpoint_dir(wc.model),
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
        checkpoints=get_job_checkpoints,
        inputs=lambda wc: PLAN.inversion_inputs(wc.model),
        code=code_version("invert"),
    script:
        "../workflow/scripts/invert.py"
