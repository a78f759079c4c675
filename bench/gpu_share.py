"""Benchmark: K inversion jobs side by side on one GPU, for K = 1, 2, 4, 8 (resources.jobs_per_gpu).

Each job is what the invert rule runs: a fresh Python process that imports torch and this
package, starts CUDA, builds the network (ResNet-18 without BN, random weights: no checkpoint
or data files needed, so that the benchmark travels with the package alone) and inverts its
``layer1.1.conv2`` for 13 images with the default 300 iterations. ``--jobs`` jobs run with at
most K at once. Prints, for each image size and K: jobs per minute, the GPU's busy fraction
(``nvidia-smi`` sampled every 0.2 s; ``-`` without it), and each job's start cost (process
start to the first iteration) and optimization time, as medians.

    python bench/gpu_share.py [--sizes 64 224] [--k 1 2 4 8] [--jobs 16]
    python bench/gpu_share.py --device cpu --sizes 32 --k 1 2 --jobs 2   # wiring
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time


def job(size: int, device_name: str, iterations: int, launched: float) -> dict:
    """One inversion job; returns its start cost and optimization seconds."""
    import torch

    from invertibility.core.inversion_settings import InversionSettings
    from invertibility.jobs.device import start_job
    from invertibility.methods.inversion import initial_images, invert
    from invertibility.nets.models import build_model
    from invertibility.nets.taps import Tap

    device = start_job(1, device_name)
    torch.manual_seed(0)
    model = build_model("resnet18_nobn", 10, (3, size, size)).to(device).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    forward = Tap(model, "layer1.1.conv2")
    ids = [f"image{i}" for i in range(13)]
    target = forward(torch.rand(13, 3, size, size, device=device)).detach()
    init = initial_images(ids, (3, size, size), 0.1, 0).to(device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    ready = time.time()
    invert(
        forward, target, init, InversionSettings(iterations=iterations, lr=200.0), progress=False
    )
    if device.type == "cuda":
        torch.cuda.synchronize()
    return {"start_s": ready - launched, "loop_s": time.time() - ready}


class BusySampler(threading.Thread):
    """Samples the GPU's utilization (percent) with nvidia-smi until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
            ).stdout.split()
            if out:
                self.samples.append(float(out[0]))
            time.sleep(0.2)


def batch(args, size: int, k: int) -> dict:
    """Run ``args.jobs`` job processes, at most ``k`` at once."""
    sampler = BusySampler() if shutil.which("nvidia-smi") and args.device != "cpu" else None
    if sampler:
        sampler.start()
    pending, running, results = list(range(args.jobs)), [], []
    start = time.time()
    while pending or running:
        while pending and len(running) < k:
            pending.pop()
            command = [sys.executable, __file__, "--worker", str(size), args.device]
            command += ["--iterations", str(args.iterations), "--launched", str(time.time())]
            running.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        for process in list(running):
            if process.poll() is not None:
                running.remove(process)
                if process.returncode:
                    raise SystemExit(f"a job failed (exit {process.returncode})")
                results.append(json.loads(process.stdout.read().splitlines()[-1]))
        time.sleep(0.02)
    wall = time.time() - start
    if sampler:
        sampler.stop.set()
        sampler.join()
    return {
        "jobs_per_min": 60 * args.jobs / wall,
        "busy": statistics.mean(sampler.samples) / 100 if sampler and sampler.samples else None,
        "start_s": statistics.median(r["start_s"] for r in results),
        "loop_s": statistics.median(r["loop_s"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.worker:
        print(json.dumps(job(args.worker, rest[0], args.iterations, args.launched)))
        return
    print("size  K  jobs/min  GPU busy  start s  loop s")
    for size in args.sizes:
        for k in args.k:
            r = batch(args, size, k)
            busy = "-" if r["busy"] is None else f"{r['busy']:.2f}"
            print(
                f"{size:4d} {k:2d} {r['jobs_per_min']:9.1f} {busy:>9s} "
                f"{r['start_s']:8.2f} {r['loop_s']:7.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
