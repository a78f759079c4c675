"""One inversion job: invert ``r_l^tp(x_i)`` with the earlier function ``r_l^t`` for a batch of
images and one or several activation steps ``tp`` (a chunk), from the resolved spec its rule
passes (see :meth:`invertibility.planning.inversions.InversionJobs.spec`).

Read top to bottom: spec, images, networks, targets, optimization, metrics and files.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..core import paths
from ..core.inversion_io import save_inversion
from ..core.inversion_settings import InversionSettings
from ..core.vocabulary import OTHER_IMAGE
from ..data import image_sets
from ..methods.inversion import initial_images, invert_with_retry
from ..nets.checkpoints import load_network
from ..nets.taps import Tap, other_image_targets, predict, weight_drift
from .device import start_job

log = logging.getLogger(__name__)


@dataclass
class Targets:
    """One activation step's share of a job's batch: its rows and their targets ``Phi0``."""

    tp: str
    p: int | None
    rows: torch.Tensor  # which of the job's images each row inverts
    partner_ids: list[str]  # the image whose activations the row's target is
    target: torch.Tensor
    drift: float


def targets_of(entry: dict, images, x, function, forward, network, spec, device) -> Targets:
    """Phi0 = r_l^tp(x_i) with the ``network`` at ``tp``; the controls: r_l^t(x_j) for each
    other-image partner x_j (no network of its own), or r_l^t(x_i) of another training seed
    (cross-seed)."""
    with torch.no_grad():
        if entry["tp"] == OTHER_IMAGE:
            rows, target = other_image_targets(forward, images.pool, images.partners, device)
            partner_ids = [images.pool_ids[j] for j in images.partners.flatten().tolist()]
            return Targets(entry["tp"], entry["p"], rows, partner_ids, target, float("nan"))
        rows = torch.arange(len(x))
        drift = weight_drift(function, network, spec["module"])
        target = Tap(network, spec["module"])(x)
        partner_ids = [images.ids[i] for i in rows.tolist()]
        return Targets(entry["tp"], entry["p"], rows, partner_ids, target, drift)


def weight_layout(network: torch.nn.Module, module: str) -> torch.memory_format:
    """The memory layout of a job's conv weights: channels-last, faster on the CPU for every conv
    but the network's first, whose 3 input channels give the layout nothing to vectorize over
    (``bench/inversion_layout.py`` measures it; docs/benchmarks.md has the numbers). An MLP's
    2-D weights are left as they are either way."""
    convs = (name for name, m in network.named_modules() if isinstance(m, torch.nn.Conv2d))
    return torch.contiguous_format if module == next(convs, None) else torch.channels_last


def step_files(spec: dict) -> list[str]:
    """The file of each activation step a spec inverts: what a chunk's folder will hold."""
    where = (spec["model"], spec["seed"], spec["layer"], spec["t"])
    return [paths.inversion(*where, target["tp"]) for target in spec["targets"]]


def run_inversion(
    spec: dict,
    inputs: dict[str, str],
    outputs: str | list[str],
    threads: int = 1,
    progress: bool = True,
    jobs_per_gpu: int = 1,
) -> list[dict]:
    """``inputs``: the ``images`` file and the checkpoint folders, from which the job reads, per
    entry of the spec's ``targets`` (one activation step, or a chunk's), the ``t``, ``target``
    (the ``tp`` network, or another seed's ``t`` for the cross-seed control; none for the
    other-image control) and ``classifier`` checkpoints. The steps are inverted
    ``steps_per_batch`` at a time (a chunk's spec says; all at once otherwise), each batch's rows
    in one optimization (images are independent problems with fixed starts, so the result is
    each step's alone); writes one inversion file per step, in ``outputs``' order; returns their
    metrics.

    For one batch it calls into seven modules, in this order (``tests/test_layout.py`` traces
    it): settings, device, images, checkpoints (every network of the batch in one read),
    forward passes (targets and drift), the optimization, then forward passes again (the
    classifier's labels of the reconstructions), images again (back to pixels) and the
    inversion files."""
    outputs = [outputs] if isinstance(outputs, str) else list(outputs)
    targets = spec["targets"]
    if len(outputs) != len(targets):
        raise ValueError(f"{len(targets)} activation steps but {len(outputs)} outputs")
    settings = InversionSettings(**spec["settings"])
    recorded = settings.as_dict()
    device = start_job(threads, spec["device"], jobs_per_gpu, seed=settings.init_seed)
    # images: the ones to invert, and the held-out pool (partners, identification candidates)
    images = image_sets.load(inputs["images"], spec["images_fingerprint"])
    size = spec.get("steps_per_batch", len(targets))
    metrics = []
    for start in range(0, len(targets), size):
        batch = slice(start, start + size)
        if len(targets) > size:
            log.info(
                "steps %d-%d of %d", batch.start + 1, min(batch.stop, len(targets)), len(targets)
            )
        metrics += _invert_batch(
            {**spec, "targets": targets[batch]},
            outputs[batch],
            settings,
            recorded,
            images,
            device,
            progress,
        )
    return metrics


def _invert_batch(spec, outputs, settings, recorded_settings, images, device, progress):
    """One batched optimization: every activation step of ``spec["targets"]``; their metrics."""
    x = images.images.to(device)
    pixels = images.to_pixels(images.images)

    # each step's target network is read, used and freed in turn and the classifier read after
    # them, so that a chunk holds two networks at a time, not one per step (a wide-MLP chunk
    # of five steps, four of them with a network, peaked at 3.8 GB with all six read at once)
    first = spec["targets"][0]["checkpoints"]
    mode = settings.network_mode
    layer = [spec["module"]]  # the function and targets are read up to the layer alone
    function = load_network(spec["network"], first["t"], mode, layer)
    layout = weight_layout(function, spec["module"])
    function = function.to(device, memory_format=layout)

    # targets, one block of rows per activation step, through the function truncated at the layer
    forward = Tap(function, spec["module"])
    steps = []
    for entry in spec["targets"]:
        network = None  # the other-image control has no network of its own
        if "target" in entry["checkpoints"]:
            # read apart from the function even when it is the same checkpoint (tp = t)
            network = load_network(spec["network"], entry["checkpoints"]["target"], mode, layer)
            network = network.to(device, memory_format=layout)
        steps.append(targets_of(entry, images, x, function, forward, network, spec, device))
        del network
    classifier = load_network(spec["network"], first["classifier"], "eval")
    classifier = classifier.to(device, memory_format=layout)
    rows = torch.cat([step.rows for step in steps])
    ids = [images.ids[i] for i in rows.tolist()]

    # optimization
    init = initial_images(ids, x.shape[1:], settings.init_std, settings.init_seed).to(device)
    start = time.perf_counter()
    result, retried, final_lr = invert_with_retry(
        forward, torch.cat([step.target for step in steps]), init, settings, progress
    )
    reconstructions = result.reconstructions.cpu()  # waits for the GPU: the loop's true end
    loop_seconds = time.perf_counter() - start
    n_diverged = int(result.diverged.sum())
    if retried.any():
        log.warning(
            "%d of %d inversions diverged and were retried alone (at most %d times); "
            "%d still diverged (%s)",
            int(retried.sum()),
            len(rows),
            settings.retries,
            n_diverged,
            ", ".join(outputs),
        )
    log.info("optimization loop: %.2f s for %d inversions", loop_seconds, len(rows))
    labels_final = predict(classifier, reconstructions)
    recon_pixels = images.to_pixels(reconstructions)

    # metrics and files, one per activation step
    metrics_of_steps = []
    begin = 0
    for step, output in zip(steps, outputs, strict=True):
        share = slice(begin, begin + len(step.rows))
        begin = share.stop
        originals = pixels[step.rows]
        distance = (recon_pixels[share] - originals).flatten(1).norm(dim=1)
        image_error = distance / originals.flatten(1).norm(dim=1).clamp_min(1e-12)
        metrics = {
            "image_id": np.array(ids[share]),
            "label": images.labels[step.rows].numpy(),
            "target_image_id": np.array(step.partner_ids),
            "feature_error": result.feature_error[share].cpu().numpy(),
            "image_error": image_error.numpy(),
            "diverged": result.diverged[share].cpu().numpy(),
            "label_final": labels_final[share].numpy(),
            "retried": retried[share].cpu().numpy(),
            "final_lr": final_lr[share].numpy(),
        }
        record = {key: spec[key] for key in ("model", "seed", "layer", "module", "t")}
        record["tp"] = step.tp
        record["classifier_step"] = spec["classifier_step"]
        record["n_candidates"] = images.candidates.shape[1] + 1
        save_inversion(
            output,
            {**record, **recorded_settings},
            recon_pixels[share].numpy(),
            originals.numpy(),
            metrics,
            step.p,
            loop_seconds * len(step.rows) / len(rows),  # a chunk's loop, shared out by rows
            step.drift,
        )
        metrics_of_steps.append(metrics)
    return metrics_of_steps
