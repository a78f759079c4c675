rule norm_distances:
    """Section 4: how far r_l(x_i) moves across steps vs the distance to other classes."""
    input:
        images=paths.images("{model}"),
        checkpoints=paths.checkpoint_dir("{model}", "{seed}"),
    output:
        paths.norm_distances("{model}", "{seed}", "{layer}"),
    log:
        paths.log("norm_distances", model="{model}", seed="seed{seed}", layer="{layer}"),
    benchmark:
        paths.benchmark(
            "norm_distances", model="{model}", seed="seed{seed}", layer="{layer}"
        )
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
        spec=lambda wc: canonical(PLAN.distances.spec(wc.model, int(wc.seed), wc.layer)),
        code=script_code("norm_distances.py"),
    script:
        "../workflow/scripts/norm_distances.py"
