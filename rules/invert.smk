# the scripts' code, hashed once for every inversion rule
INVERT_CODE = script_code("invert.py")


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
    wildcard_constraints:
        model=names_pattern(PLAN.inversions.unchunked_models()),
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
        spec=get_inversion_spec,
        code=INVERT_CODE,
    script:
        "../workflow/scripts/invert.py"


# A model with `invert_chunk` > 1 inverts all activation steps of one (seed, layer, t) per job,
# in batched optimizations of that many steps, and writes their files into that folder, its one
# output (see invertibility.planning.inversions).
rule invert_chunk:
    """Invert r_l^tp(x_i) with r_l^t for every tp of one (seed, layer, t): a folder of files."""
    input:
        images=paths.images("{model}"),
        checkpoints=get_inversion_checkpoints,
    output:
        directory(paths.inversion_folder("{model}", "{seed}", "{layer}", "{t}")),
    log:
        paths.log(
            "invert_chunk",
            model="{model}",
            seed="seed{seed}",
            layer="{layer}",
            t="{t}",
        ),
    benchmark:
        paths.benchmark(
            "invert_chunk",
            model="{model}",
            seed="seed{seed}",
            layer="{layer}",
            t="{t}",
        )
    wildcard_constraints:
        model=names_pattern(PLAN.inversions.chunked_models()),
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource("invert_mem_mb"),
        runtime=get_chunk_runtime,
        gpu_slots=GPU_SLOTS,
        gres=GPU_GRES,
        jobs_per_gpu=JOBS_PER_GPU,
    params:
        spec=get_inversion_spec,
        code=INVERT_CODE,
    script:
        "../workflow/scripts/invert.py"
