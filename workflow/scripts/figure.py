"""Rule figure: one figure of the config, drawn by its kind (invertibility.figures.KINDS)."""

import json

from invertibility.core.logs import logged
from invertibility.figures import KINDS


def main(smk):
    with logged(smk.log[0]):
        spec = json.loads(smk.params.spec)
        files = {key: v if isinstance(v, str) else list(v) for key, v in smk.input.items()}
        KINDS[spec["kind"]].draw(files, spec, smk.output.pdf, smk.output.png)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
