"""The checkpoint disk a config's trainings will write, from its plan (nothing is trained).

    .venv/bin/python tools/checkpoint_budget.py [config.yaml ...]

Config files merge in order, as Snakemake's --configfile does (default: config/paper.yaml, whose
ImageNet folders may be placeholders: an image folder that does not exist is replaced by an empty
tree of the config's class count, as planning reads folder names only). Per model: its seeds, the
checkpoints each training saves (the schedule) and how many of them whole, the size of a whole
checkpoint and of one that holds its layers' tensors alone (float32), and the disk per seed and
in all (invertibility.planning.checkpoint_budget).
"""

import argparse
import os
import tempfile
from pathlib import Path

import yaml
from snakemake.utils import update_config, validate

from invertibility.data.sources.imagefolder import placeholder_tree
from invertibility.planning.checkpoint_budget import checkpoint_budget
from invertibility.planning.plan import Plan

SCHEMA = "workflow/schemas/config.schema.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=["config/paper.yaml"])
    args = parser.parse_args()
    config: dict = {}
    for path in args.configs:
        with open(path) as handle:
            update_config(config, yaml.safe_load(handle))
    validate(config, SCHEMA)
    with tempfile.TemporaryDirectory() as scratch:
        for name, spec in config["datasets"].items():
            if spec["source"] == "imagefolder" and not os.path.isdir(spec["root"]):
                root, held = placeholder_tree(Path(scratch) / name, spec["num_classes"])
                spec.update(root=str(root), holdout_root=str(held))
        table = checkpoint_budget(Plan(config))
    print(table.round(3).to_string(index=False))
    print(f"total: {table['gb_all_seeds'].sum():.1f} GB")


if __name__ == "__main__":
    main()
