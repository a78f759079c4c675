rule train:
    """Train one model with one seed (SGD); save the steps of its checkpoint schedule."""
    output:
        # A folder, not one output per checkpoint: Snakemake scans every output of a job's
        # producer once per consumer, which at paper scale (thousands of inversions reading a
        # schedule of a thousand checkpoints) slows planning (docs/benchmarks.md).
        checkpoints=directory(paths.checkpoint_dir("{model}", "{seed}")),
        table=paths.training_table("{model}", "{seed}"),
        accuracy=paths.checkpoint_accuracy("{model}", "{seed}"),
        blocks=paths.block_diagnostics("{model}", "{seed}"),
        gradients=paths.checkpoint_gradients("{model}", "{seed}"),
    log:
        paths.log("train", model="{model}", seed="seed{seed}"),
    benchmark:
        paths.benchmark("train", model="{model}", seed="seed{seed}")
    # every inversion waits on a training: start them all first, so that no long training
    # runs alone at the end of a run while the other core idles
    priority: 10
    conda:
        "../envs/torch.yaml"
    threads: resource("train_threads")
    resources:
        mem_mb=resource("train_mem_mb"),
        runtime=resource("train_runtime"),
        # resources, not params: changing how often the state is written reruns nothing
        state_every_s=resource("train_state_every_s"),
        stop_margin_s=resource("train_stop_margin_s"),
        gpu_slots=GPU_SLOTS,
        gres=GPU_GRES,
        jobs_per_gpu=JOBS_PER_GPU,
    params:
        # the model's own config entry alone: figures, grids and claims never rerun training
        spec=lambda wc: canonical(PLAN.training.spec(wc.model, int(wc.seed))),
        code=script_code("train.py"),
        # the resumable state: outside the outputs, which Snakemake deletes when a job fails
        state=lambda wc: paths.training_state(wc.model, wc.seed),
    script:
        "../workflow/scripts/train.py"
