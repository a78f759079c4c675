"""One norm-distance job (Section 4, Figure 6): the representations of one (model, layer) at
every step its inversions use, from the resolved spec its rule passes."""

from __future__ import annotations

import torch

from ..core.atomic import atomic_path
from ..data import image_sets
from ..methods.distances import norm_distances
from ..nets.checkpoints import load_network
from ..nets.taps import Tap
from .device import start_job


def run_norm_distances(
    spec: dict, images_path: str, output: str, threads: int = 1, jobs_per_gpu: int = 1
) -> None:
    """Reads the checkpoint of every step in ``spec['checkpoints']`` (step -> path)."""
    device = start_job(threads, spec["device"], jobs_per_gpu)
    images = image_sets.load(images_path, spec["images_fingerprint"])
    path_of = spec["checkpoints"]

    inputs = {"images": images.images, "pool": images.pool}

    @torch.no_grad()
    def representation(step: str, which: str) -> torch.Tensor:
        network = load_network(spec["network"], path_of[step], layers=[spec["module"]])
        tap = Tap(network.to(device), spec["module"])
        return torch.cat([tap(chunk.to(device)).cpu() for chunk in inputs[which].split(128)])

    table = norm_distances(
        spec["model"],
        spec["seed"],
        spec["layer"],
        spec["steps"],
        representation,
        (images.ids, images.labels.numpy()),
        (images.pool_ids, images.pool_labels.numpy()),
    )
    with atomic_path(output) as tmp:
        table.to_parquet(tmp, index=False)
