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
