"""Benchmark: seconds and page faults per training step, per optimizer variant, beside its floor.

For each model of the default config (its input size and batch), one process per variant trains
``--steps`` steps on synthetic data after ``--warmup`` steps, one thread, block probes off:

* ``default``: ``torch.optim.SGD`` as PyTorch defaults it on the CPU (a loop over parameters),
  glibc's allocator as it comes (large blocks mmap'ed per allocation, unmapped on free);
* ``foreach``: the multi-tensor SGD, freed memory kept (:mod:`invertibility.jobs.allocator`);
* ``fused``: what the training job does: fused SGD, freed memory kept.

Variants alternate their order over ``--repeats`` rounds; the table gives each variant's median
ms per step, minor page faults per step, and the ratio to ``default`` within the same round. The
floor is the memory traffic a step cannot avoid, at the copy bandwidth measured here on one
thread: the forward reads the weights (P bytes) and writes every layer's output (A), the
backward reads both and writes the output gradients and reads them back (2A) and writes the
weight gradients (P), fused SGD reads weight, gradient and momentum and writes two (5P):
8P + 4A bytes. Compute is not in the floor, so convolutions sit far above it.

    .venv/bin/python bench/train_step.py [--models alexnet mlp] [--steps 20]
        [--size 224 --batch 32] [--variants fused]

``--size`` sets the conv nets' image side (the paper's 224 px) and ``--batch`` every model's
batch; ``--variants`` times a subset (``default`` is always timed, for the ratio).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from invertibility.jobs.allocator import keep_freed_memory
from invertibility.nets.models import build_model

MODELS = {  # the default config's networks, inputs and batches
    "mlp": dict(architecture="mlp", input_shape=(1, 28, 28), hidden=[2000, 1000, 100], batch=64),
    "mlp_wide": dict(
        architecture="mlp", input_shape=(1, 28, 28), hidden=[8000, 8000, 8000], batch=64
    ),
    "alexnet": dict(architecture="alexnet", input_shape=(3, 64, 64), batch=16),
    "resnet18_nobn": dict(architecture="resnet18_nobn", input_shape=(3, 64, 64), batch=16),
}
VARIANTS = {
    "default": dict(sgd={}, keep=False),
    "foreach": dict(sgd={"foreach": True}, keep=True),
    "fused": dict(sgd={"fused": True}, keep=True),
}


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def network_of(model_name: str, size: int | None, batch: int | None) -> tuple[dict, int]:
    """(build_model's keywords, the batch) of a model, at another image side or batch."""
    network = dict(MODELS[model_name])
    default_batch = network.pop("batch")
    if size and network["architecture"] != "mlp":
        network["input_shape"] = (network["input_shape"][0], size, size)
    return network, batch or default_batch


def worker(model_name: str, variant: str, args) -> dict:
    setting = VARIANTS[variant]
    if setting["keep"]:
        keep_freed_memory()
    torch.set_num_threads(1)
    network, batch = network_of(model_name, args.size, args.batch)
    steps, warmup = args.steps, args.warmup
    torch.manual_seed(0)
    model = build_model(num_classes=10, **network).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, **setting["sgd"])
    images = torch.rand(batch, *network["input_shape"])
    labels = torch.randint(0, 10, (batch,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    before, times = faults(), []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return {"ms": 1e3 * statistics.median(times), "faults": (faults() - before) / steps}


def step_bytes(model_name: str, size: int | None, batch: int | None) -> tuple[int, int]:
    """(P, A): bytes of the weights, and of every leaf module's output for one batch."""
    network, batch = network_of(model_name, size, batch)
    model = build_model(num_classes=10, **network)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    outputs = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: outputs.append(o.numel() * o.element_size()))
        for m in model.modules()
        if not list(m.children())
    ]
    with torch.no_grad():
        model(torch.rand(batch, *network["input_shape"]))
    for hook in hooks:
        hook.remove()
    return weights, sum(outputs)


def copy_bandwidth() -> float:
    """Bytes per second of a one-thread copy of 256 MB (read + write counted)."""
    torch.set_num_threads(1)
    source = torch.rand(64 * 2**20)
    target = torch.empty_like(source)
    target.copy_(source)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        target.copy_(source)
        times.append(time.perf_counter() - start)
    return 2 * source.numel() * 4 / min(times)


def run(model_name: str, variant: str, args) -> dict:
    command = [sys.executable, __file__, "--worker", model_name, variant]
    command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    command += ["--size", str(args.size or 0), "--batch", str(args.batch or 0)]
    return json.loads(subprocess.run(command, capture_output=True, check=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=0, help="conv nets' image side")
    parser.add_argument("--batch", type=int, default=0, help="every model's batch")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args)))
        return
    variants = ["default", *(v for v in args.variants if v != "default")]
    bandwidth = copy_bandwidth()
    print(f"one-thread copy bandwidth: {bandwidth / 1e9:.1f} GB/s")
    print("model          variant   ms/step  faults/step  ratio to default  floor ms (8P+4A)")
    for model_name in args.models:
        rounds = []
        for round_ in range(args.repeats):
            order = variants if round_ % 2 == 0 else variants[::-1]
            rounds.append({variant: run(model_name, variant, args) for variant in order})
        weights, outputs = step_bytes(model_name, args.size, args.batch)
        floor_ms = 1e3 * (8 * weights + 4 * outputs) / bandwidth
        for variant in variants:
            ms = statistics.median(r[variant]["ms"] for r in rounds)
            fault = statistics.median(r[variant]["faults"] for r in rounds)
            ratio = statistics.median(r[variant]["ms"] / r["default"]["ms"] for r in rounds)
            print(
                f"{model_name:14s} {variant:8s} {ms:8.1f} {fault:12.0f} {ratio:16.3f} "
                f"{floor_ms:10.1f}  (P {weights / 1e6:.0f} MB, A {outputs / 1e6:.0f} MB)"
            )


if __name__ == "__main__":
    main()
