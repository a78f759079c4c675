"""Benchmark: plan (snakemake -n) the paper-scale grid of config/paper.yaml on the SLURM profile.

Builds a throwaway ImageNet-shaped folder tree (class folders and empty image files: planning
only reads names), points a copy of config/paper.yaml at it, times the dry run, and counts the
jobs that would be submitted with and without grouping the inversions.

    .venv/bin/python benchmarks_src/plan_paper_grid.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def fake_imagenet(root: Path, classes: int = 1000, held_out: int = 100) -> None:
    for i in range(classes):
        (root / "train" / f"n{i:08d}").mkdir(parents=True)
    for i in range(held_out):
        folder = root / "invert" / f"n{i:08d}"
        folder.mkdir(parents=True)
        (folder / f"val_{i}.JPEG").touch()


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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fake_imagenet(tmp / "imagenet")
        config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
        config["datasets"]["imagenet"].update(
            root=str(tmp / "imagenet" / "train"), holdout_root=str(tmp / "imagenet" / "invert")
        )
        path = tmp / "paper.yaml"
        path.write_text(yaml.safe_dump(config))
        grouped_time, grouped = dry_run(path, tmp / "run")
        ungrouped_time, ungrouped = dry_run(path, tmp / "run", "--group-components", "inversions=1")
    counts, groups = job_counts(grouped)
    _, groups_ungrouped = job_counts(ungrouped)
    other = counts["total"] - counts["invert"] - 1  # all jobs but inversions and 'all'
    print(
        f"inversion jobs: {counts['invert']}, "
        f"train jobs: {counts['train']}, "
        f"total jobs: {counts['total']}"
    )
    print(f"planning (snakemake -n, SLURM profile, grouped):   {grouped_time:6.1f} s")
    print(f"planning (snakemake -n, SLURM profile, ungrouped): {ungrouped_time:6.1f} s")
    print(f"submitted jobs without grouping: {groups_ungrouped + other}")
    print(f"submitted jobs with 50 inversions per group: {groups + other}")


if __name__ == "__main__":
    main()
