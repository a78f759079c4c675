"""Benchmark: how much of each inversion job's wall time is spent inverting.

Runs a config end to end (default: the embedded ``config.yaml``) in a fresh working folder, or
takes a finished run's folder (``--finished``), and reports, from the jobs' own records:

* job efficiency: total optimization-loop time over total wall time of the inversion jobs
  (wall time from each job's Snakemake ``benchmark:`` file, loop time from the ``loop_seconds``
  the job writes into its npz; for code older than that, from the rate of the job's tqdm bar);
* the median per-job overhead (wall time minus loop time), beside a bare
  ``python -c "import torch"`` timed in the same run;
* the wall time of the whole run, and per-rule totals.

    .venv/bin/python bench/job_efficiency.py [--source DIR] [--config FILE]
        [--cores 2] [--keep DIR]
    .venv/bin/python bench/job_efficiency.py --finished RUN_FOLDER

``--source`` runs the workflow and package of another checkout (for before/after comparisons:
its ``src`` goes first on PYTHONPATH, so its package is the one the jobs import).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# the final tqdm line of a job's log: "invert: 100%|...| 300/300 [00:06<00:00, 45.1it/s]"
TQDM_END = re.compile(r"invert: 100%.*?(\d+)/\1 \[[^,\]]*, *([\d.]+)(it/s|s/it)")


def torch_import_seconds(repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def loop_seconds(npz: Path, log: Path) -> float:
    with np.load(npz, allow_pickle=False) as archive:
        if "loop_seconds" in archive.files:
            return float(archive["loop_seconds"])
    matches = TQDM_END.findall(log.read_text()) if log.is_file() else []
    if not matches:
        return float("nan")
    iterations, rate, unit = matches[-1]
    rate = float(rate)
    return int(iterations) / rate if unit == "it/s" else int(iterations) * rate


def inversion_records(workdir: Path) -> pd.DataFrame:
    """One row per inversion job: its wall time and the loop time of the files it wrote (a
    chunk job, rule ``invert_chunk``, writes its (model, seed, layer, t) folder: its files
    share its loop out, so they are summed back)."""
    rows = []
    for rule in ("invert", "invert_chunk"):
        for bench in sorted((workdir / "benchmarks" / rule).rglob("*.tsv")):
            relative = bench.relative_to(workdir / "benchmarks" / rule).with_suffix("")
            log = workdir / "logs" / rule / relative.with_suffix(".log")
            output = workdir / "results" / "inversions" / relative
            files = (
                sorted(output.glob("*.npz"))
                if rule == "invert_chunk"
                else [output.with_suffix(".npz")]
            )
            files = [npz for npz in files if npz.is_file()]
            if not files:
                continue
            wall = float(pd.read_csv(bench, sep="\t")["s"].iloc[0])
            loop = sum(loop_seconds(npz, log) for npz in files)
            rows.append({"job": str(relative), "wall_s": wall, "loop_s": loop})
    return pd.DataFrame(rows)


def rule_totals(workdir: Path) -> pd.DataFrame:
    rows = []
    for bench in (workdir / "benchmarks").rglob("*.tsv"):
        rule = bench.relative_to(workdir / "benchmarks").parts[0]
        rows.append({"rule": rule, "s": float(pd.read_csv(bench, sep="\t")["s"].iloc[0])})
    frame = pd.DataFrame(rows)
    return frame.groupby("rule")["s"].agg(["count", "sum", "mean"]).round(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout whose code runs")
    parser.add_argument("--config", type=Path, help="config file (default: SOURCE/config.yaml)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument(
        "--finished", type=Path, help="report on this finished run's folder instead of running"
    )
    args = parser.parse_args()
    source = args.source.resolve()
    config = (args.config or source / "config.yaml").resolve()
    env = {
        **os.environ,
        "PYTHONPATH": f"{source / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }

    torch_s = torch_import_seconds()
    if args.finished:
        report(args.finished.resolve(), torch_s, f"finished run {args.finished}", None)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = (args.keep or Path(tmp) / "run").resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
        command += ["--configfile", str(config), "--directory", str(workdir)]
        start = time.perf_counter()
        run = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True)
        total = time.perf_counter() - start
        if run.returncode != 0:
            sys.exit(f"the run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        report(workdir, torch_s, f"{source} ({config.name}), {args.cores} cores", total)


def report(workdir: Path, torch_s: float, source: str, total: float | None) -> None:
    jobs = inversion_records(workdir)
    if jobs.empty:
        sys.exit(f"no inversion job's benchmark file under {workdir / 'benchmarks'}")
    rules = rule_totals(workdir)
    overhead = jobs["wall_s"] - jobs["loop_s"]
    print(f"source: {source}")
    if total is not None:  # a finished run's wall time is its own record, not ours
        print(f"whole run: {total:8.1f} s")
    print(
        f"inversion jobs: {len(jobs)}; loop time {jobs['loop_s'].sum():.1f} s of "
        f"{jobs['wall_s'].sum():.1f} s job wall time"
    )
    print(f"job efficiency (loop / wall): {jobs['loop_s'].sum() / jobs['wall_s'].sum():.3f}")
    print(
        f"median per-job overhead (wall - loop): {overhead.median():.2f} s "
        f"(bare `import torch`: {torch_s:.2f} s; difference {overhead.median() - torch_s:.2f} s)"
    )
    by_model = jobs.assign(model=jobs["job"].str.split("/").str[0], overhead=overhead)
    print(
        by_model.groupby("model")[["wall_s", "loop_s", "overhead"]]
        .median()
        .round(2)
        .rename(columns=lambda c: f"median {c}")
        .to_string()
    )
    print("per rule (benchmark files, seconds):")
    print(rules.to_string())


if __name__ == "__main__":
    main()
