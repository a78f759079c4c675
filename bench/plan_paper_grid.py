"""Benchmark: plan (snakemake -n) the paper-scale grid of config/paper.yaml on the SLURM profile.

Builds a throwaway ImageNet-shaped folder tree (class folders and empty image files: planning
only reads names), points a copy of config/paper.yaml at it, and times the dry run of the config
as it ships, then once per ``--chunks`` value (every model's ``invert_chunk``: 1 is one job per
(layer, t, tp)), counting the inversion jobs and the SLURM jobs that would be submitted (one per
chunk, 50 unchunked inversions per group, as the profile says; with ``--ungrouped`` also
without grouping).

    .venv/bin/python bench/plan_paper_grid.py [--chunks 1 8] [--ungrouped]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from invertibility.data.sources.imagefolder import placeholder_tree

ROOT = Path(__file__).resolve().parents[1]


def dry_run(config: Path, workdir: Path, *extra: str) -> tuple[float, str]:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "--profile",
        "profiles/slurm",
        "--configfile",
        str(config),
        "--directory",
        str(workdir),
        *extra,
    ]
    start = time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"dry run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return elapsed, run.stdout + run.stderr


def job_counts(output: str) -> tuple[dict[str, int], int]:
    stats = output[output.rindex("Job stats:") :]
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}
    groups = output.count("Group job inversions")
    return counts, groups


def inversion_jobs(counts: dict[str, int]) -> int:
    return sum(n for rule, n in counts.items() if rule == "invert" or rule.startswith("invert_"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, nargs="*", default=[1])
    parser.add_argument("--ungrouped", action="store_true", help="also plan without groups")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train, held = placeholder_tree(tmp / "imagenet", classes=1000)
        for chunk in [None, *args.chunks]:
            config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
            config["datasets"]["imagenet"].update(root=str(train), holdout_root=str(held))
            for entry in config["models"].values():
                if chunk is not None:
                    entry["invert_chunk"] = chunk
            path = tmp / f"paper_chunk{chunk or 'shipped'}.yaml"
            path.write_text(yaml.safe_dump(config))
            seconds, output = dry_run(path, tmp / "run")
            counts, groups = job_counts(output)
            jobs = inversion_jobs(counts)
            other = counts["total"] - jobs - 1  # all jobs but inversions and 'all'
            chunks = counts.get("invert_chunk", 0)  # each submitted alone
            label = chunk or "as config/paper.yaml sets"
            print(
                f"invert_chunk {label}: {jobs} inversion jobs ({chunks} chunks), "
                f"{counts['total']} jobs in all; planning (snakemake -n, SLURM profile) "
                f"{seconds:.1f} s; {groups + chunks + other} SLURM jobs with 50 unchunked "
                "inversion jobs per group",
                flush=True,
            )
            if args.ungrouped:
                seconds, output = dry_run(path, tmp / "run", "--group-components", "inversions=1")
                _, groups = job_counts(output)
                print(
                    f"  ungrouped: planning {seconds:.1f} s; {groups + chunks + other} SLURM jobs"
                )


if __name__ == "__main__":
    main()
