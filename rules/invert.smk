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
        model=names_pattern(PLAN.unchunked_models()),
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
        code=INVERT_CODE,
    script:
        "../workflow/scripts/invert.py"


# A model with `invert_chunk` > 1 inverts several activation steps of one (seed, layer, t) per
# job, in one batched optimization, and still writes one file per (layer, t, tp). A rule's
# outputs share its wildcards, so each chunk is a rule with its files written out (see
# invertibility.planning.plan.InversionChunk). On a cluster they join the profile's group of inversion
# jobs (ignored when run locally).
for index, chunk in enumerate(PLAN.inversion_chunks):
    chunk_checkpoints, chunk_spec = chunk_functions(chunk)

    rule:
        name:
            f"invert_chunk_{index}"
        input:
            images=paths.images(chunk.model),
            checkpoints=chunk_checkpoints,
        output:
            [job.path for job in chunk.jobs],
        log:
            paths.log(
                "invert",
                model=chunk.model,
                seed=f"seed{chunk.seed}",
                layer=chunk.layer,
                t=chunk.t,
                tp=chunk.label,
            ),
        benchmark:
            paths.benchmark(
                "invert",
                model=chunk.model,
                seed=f"seed{chunk.seed}",
                layer=chunk.layer,
                t=chunk.t,
                tp=chunk.label,
            )
        group:
            "inversions"
        conda:
            "../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=res("invert_mem_mb"),
            runtime=res("invert_runtime") * len(chunk.tps),
            gpu_slots=GPU_SLOTS,
            gres=GPU_GRES,
        params:
            spec=chunk_spec,
            code=INVERT_CODE,
        script:
            "../workflow/scripts/invert.py"
