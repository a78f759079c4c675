"""Rule prepare_images: the images a model's jobs invert, prepared once."""

import json

from invertibility.core.logs import logged
from invertibility.data.image_sets import prepare


def main(smk):
    with logged(smk.log[0]):
        spec = json.loads(smk.params.spec)
        prepare(spec["dataset"], spec["selection"], smk.output[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
