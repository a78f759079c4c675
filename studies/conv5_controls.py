"""Which inversion settings make AlexNet's conv5 invertible for a perfect target?

Chooses on the controls alone (the tp = t target and the other-image null), which decide no
claim's direction: for each candidate setting, invert conv5's tp = t and other-image targets at
function step 0_100 for the given seeds of a finished run, and print the margin c_t - c_null
(mean over seeds, Student's t 95% interval over seeds), identification at tp = t, and the loop
time. Usage (after a default run has trained AlexNet; default: every candidate, seeds 0-2):

    .venv/bin/python studies/conv5_controls.py RUN_DIR [SEED ...] [CANDIDATE ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import yaml

from invertibility.analysis.recognition import load_pool, row_measures
from invertibility.analysis.stats import t_interval
from invertibility.core.inversion_io import load_inversion
from invertibility.data import image_sets
from invertibility.jobs.invert_job import run_inversion
from invertibility.planning.plan import InversionChunk, InversionJob, Plan

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = {  # per-model inversion overrides, merged over config.yaml's alexnet entry
    "default (300 iterations, TV 0.1 at conv5)": {},
    "1000 iterations at conv5": {"iterations_per_depth": 175},
    "TV 0.01 at conv5": {"tv_depth_growth": 10**0.25},
    "TV 1.0 at conv5": {"tv_depth_growth": 10**0.75},
    "1000 iterations, TV 0.01 at conv5": {"iterations_per_depth": 175, "tv_depth_growth": 10**0.25},
    "TV 0.003 at conv5": {"tv_depth_growth": 3**0.25},
    "TV 0.001 at conv5 (every layer)": {"tv_depth_growth": 1.0},
}


def measured(path: str, pool) -> dict[str, np.ndarray]:
    r = load_inversion(path)
    return row_measures(
        r["reconstructions"], r["originals"], r["image_id"], r["target_image_id"], r["label"], pool
    )


def main(run: Path, seeds: list[int], names: list[str], out: Path = Path("/tmp/conv5")) -> None:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    images = out / "alexnet.safetensors"
    plan = Plan(config)
    if not images.exists():
        spec = plan.images_spec("alexnet")
        image_sets.prepare(spec["dataset"], spec["selection"], images)
    pool = load_pool(str(images))
    for name in names:
        override = CANDIDATES[name]
        entry = config["models"]["alexnet"]
        entry["inversion"] = {**{"lr": 200.0}, **override}
        plan = Plan(config)
        margins, identified, seconds = [], [], 0.0
        for seed in seeds:
            c = {}
            for tp in ("0_100", "other_image"):
                job = InversionJob("alexnet", seed, "conv5", "0_100", tp)
                spec = plan.inversions.spec(InversionChunk.alone(job))
                (entry,) = spec["targets"]
                entry["checkpoints"] = {k: str(run / v) for k, v in entry["checkpoints"].items()}
                target = out / f"{abs(hash(name))}_{seed}_{tp}.npz"
                start = time.perf_counter()
                run_inversion(spec, {"images": str(images)}, str(target), progress=False)
                seconds += time.perf_counter() - start
                c[tp] = measured(str(target), pool)
            per_image = {}
            for image, value in zip(
                load_inversion(str(out / f"{abs(hash(name))}_{seed}_other_image.npz"))["image_id"],
                c["other_image"]["similarity"],
                strict=True,
            ):
                per_image.setdefault(image, []).append(value)
            null = np.mean([np.mean(v) for v in per_image.values()])
            margins.append(np.nanmean(c["0_100"]["similarity"]) - null)
            identified.append(np.mean(c["0_100"]["rank"] == 0))
        mean, low, high = t_interval(margins)
        print(
            f"{name}: c_t - c_null {mean:.3f} [{low:.3f}, {high:.3f}] over {len(seeds)} seeds "
            f"({', '.join(f'{m:.3f}' for m in margins)}); identified at tp = t "
            f"{np.mean(identified):.2f}; {seconds:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    args = sys.argv[2:]
    seeds = [int(a) for a in args if a.isdigit()] or [0, 1, 2]
    names = [a for a in args if not a.isdigit()] or list(CANDIDATES)
    main(Path(sys.argv[1]), seeds, names)
