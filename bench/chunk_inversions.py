"""Benchmark: one inversion job per (layer, t, tp) against one job per chunk of steps.

For each model, takes the seed-0 (layer, t) of the config with the most activation steps (the
controls included), and inverts its steps twice through Snakemake on one core, in a scratch
folder that hard-links a finished run's checkpoints and images: once as one job per file, once
as one chunked job (``invert_chunk``). Prints the jobs' wall times (their ``benchmark:`` files)
per file and the ratio, in the order the arms ran (they alternate between models, so that a
drift of the machine's speed does not favour one arm), and how far the two arms' files are
apart (``inversion_io.largest_differences``, the largest over the files).

    .venv/bin/python bench/chunk_inversions.py --results RUN [--config config.yaml]
        [--models mlp mlp_wide] [--chunk 64]

``RUN``: a folder in which the config ran (its checkpoints, images and training tables).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from invertibility.core.inversion_io import largest_differences, load_inversion
from invertibility.planning.plan import Plan

ROOT = Path(__file__).resolve().parents[1]


def link_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, copy_function=os.link)


def widest_key(plan: Plan, model: str) -> list:
    """The inversion jobs of the seed-0 (layer, t) of ``model`` with the most steps."""
    keys: dict[tuple, list] = {}
    first_seed = plan.seeds(model)[0]
    for job in plan.inversions.all:
        if job.model == model and job.seed == first_seed:
            keys.setdefault((job.layer, job.t), []).append(job)
    return max(keys.values(), key=len)


def invert(
    workdir: Path, configs: list[Path], folder: str, targets: list[str]
) -> tuple[float, int]:
    """Run the targets' jobs on one core, from an empty (layer, t) ``folder``: the sum of their
    wall times (benchmark files), and how many jobs ran."""
    shutil.rmtree(workdir / folder, ignore_errors=True)
    shutil.rmtree(workdir / "benchmarks", ignore_errors=True)
    command = [sys.executable, "-m", "snakemake", "--cores", "1", "--directory", str(workdir)]
    # the linked checkpoints are older than this checkout's code: never retrain them here
    command += ["--rerun-triggers", "params", "input", "software-env"]
    command += ["--configfile", *map(str, configs), "--", *targets]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"snakemake failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    files = list((workdir / "benchmarks").rglob("*.tsv"))  # rule invert's, or invert_chunk's
    return sum(float(pd.read_csv(f, sep="\t")["s"].iloc[0]) for f in files), len(files)


def arms_apart(first: Path, second: Path, targets: list[str]) -> dict[str, float]:
    """The largest difference of each key over the targets, between two arms' folders."""
    worst: dict[str, float] = {}
    for target in targets:
        gaps = largest_differences(load_inversion(first / target), load_inversion(second / target))
        for key, gap in gaps.items():
            worst[key] = max(worst.get(key, 0.0), gap)
    return {key: gap for key, gap in worst.items() if gap > 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--chunk", type=int, default=64)
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    plan = Plan(config)
    models = args.models or sorted({job.model for job in plan.inversions.all})
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "run"
        for kept in ("checkpoints", "images", "tables/training"):
            link_tree(args.results / "results" / kept, workdir / "results" / kept)
        for index, model in enumerate(models):
            jobs = widest_key(plan, model)
            targets = [job.path for job in jobs]
            folder = jobs[0].folder
            overlay = Path(tmp) / f"{model}_chunk.yaml"
            overlay.write_text(yaml.safe_dump({"models": {model: {"invert_chunk": args.chunk}}}))
            arms = {
                "one job per file": ([args.config], targets),
                "chunked": ([args.config, overlay], [folder]),  # the chunk's job writes the folder
            }
            order = list(arms) if index % 2 == 0 else list(reversed(arms))
            seconds = {}
            for arm in order:
                configs, arm_targets = arms[arm]
                seconds[arm], n_jobs = invert(workdir, configs, folder, arm_targets)
                kept = Path(tmp) / model / arm
                for target in targets:
                    (kept / target).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(workdir / target, kept / target)
                print(
                    f"{model} {jobs[0].layer} t={jobs[0].t}, {len(targets)} files, {arm}: "
                    f"{n_jobs} jobs, {seconds[arm]:.1f} s ({seconds[arm] / len(targets):.2f} s "
                    "per file)",
                    flush=True,
                )
            ratio = seconds["chunked"] / seconds["one job per file"]
            print(f"{model}: chunked / one job per file = {ratio:.2f}", flush=True)
            apart = arms_apart(*(Path(tmp) / model / arm for arm in arms), targets)
            print(f"{model}: keys that differ between the arms: {apart or 'none'}", flush=True)


if __name__ == "__main__":
    main()
