rule prepare_images:
    """The images a model's jobs invert: selected, resized and standardized once."""
    output:
        paths.images("{model}"),
    log:
        paths.log("prepare_images", model="{model}"),
    benchmark:
        paths.benchmark("prepare_images", model="{model}")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=lambda wc: canonical(PLAN.images_spec(wc.model)),
        code=script_code("prepare_images.py"),
    script:
        "../workflow/scripts/prepare_images.py"
