"""One inversion job: invert ``r_l^tp(x_i)`` with the earlier function ``r_l^t`` for a batch of
images, from the resolved spec its rule passes (see :meth:`invertibility.plan.Plan.inversion_spec`).

Read top to bottom: spec, images, networks, targets, optimization, metrics, file.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from . import image_sets
from .checkpoints import load_network
from .device import seed_everything, start_job
from .identification import identification_ranks
from .inversion import initial_images, invert_with_retry
from .inversion_io import save_inversion
from .inversion_settings import InversionSettings
from .redundancy import weight_drift
from .taps import Tap
from .vocabulary import OTHER_IMAGE

log = logging.getLogger(__name__)


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Class predictions on the model's device; NaN images (diverged inversions) get -1."""
    device = next(model.parameters()).device
    out = []
    for chunk in images.split(batch):
        finite = torch.isfinite(chunk).flatten(1).all(1)
        pred = model(torch.nan_to_num(chunk).to(device)).argmax(1).cpu()
        out.append(torch.where(finite, pred, torch.full_like(pred, -1)))
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def run_inversion(
    spec: dict,
    inputs: dict[str, str],
    output: str,
    threads: int = 1,
    progress: bool = True,
    jobs_per_gpu: int = 1,
) -> dict:
    """``inputs``: the ``images`` file and the checkpoint folders, from which the job reads the
    ``t``, ``target`` (the ``tp`` network, or another seed's ``t`` for the cross-seed control;
    none for the other-image control) and ``classifier`` checkpoints its spec names. Writes the
    inversion file; returns its metrics."""
    # spec
    device = start_job(threads, spec["device"], jobs_per_gpu)
    settings = InversionSettings(**spec["settings"])
    seed_everything(settings.init_seed)
    module = spec["module"]
    checkpoints = spec["checkpoints"]

    # images: the ones to invert, and the held-out pool (partners, identification candidates)
    images = image_sets.load(inputs["images"], spec["images_fingerprint"])
    x = images.images.to(device)

    # networks: the function r_l^t, truncated at the layer
    function = load_network(spec["network"], checkpoints["t"], settings.network_mode)
    function = function.to(device)
    forward = Tap(function, module)

    # targets: Phi0 = r_l^tp(x_i); the controls: r_l^t(x_j) for each other-image partner x_j,
    # or r_l^t(x_i) of another training seed (cross-seed)
    drift = float("nan")
    with torch.no_grad():
        if spec["tp"] == OTHER_IMAGE:
            rows = torch.arange(len(x)).repeat_interleave(images.partners.shape[1])
            partner_ids = [images.pool_ids[j] for j in images.partners.flatten().tolist()]
            target = forward(images.pool[images.partners.flatten()].to(device))
        else:
            rows = torch.arange(len(x))
            partner_ids = [images.ids[i] for i in rows.tolist()]
            target_network = load_network(
                spec["network"], checkpoints["target"], settings.network_mode
            ).to(device)
            drift = weight_drift(function, target_network, module)
            target = Tap(target_network, module)(x)
    ids = [images.ids[i] for i in rows.tolist()]

    # optimization
    init = initial_images(ids, x.shape[1:], settings.init_std, settings.init_seed).to(device)
    start = time.perf_counter()
    result, retried = invert_with_retry(forward, target, init, settings, progress)
    reconstructions = result.reconstructions.cpu()  # waits for the GPU: the loop's true end
    loop_seconds = time.perf_counter() - start
    n_diverged = int(result.diverged.sum())
    if retried.any():
        log.warning(
            "%d of %d inversions diverged and were retried alone; %d still diverged (%s)",
            int(retried.sum()),
            len(rows),
            n_diverged,
            output,
        )
    log.info("optimization loop: %.2f s for %d inversions", loop_seconds, len(rows))

    # metrics
    classifier = load_network(spec["network"], checkpoints["classifier"]).to(device)
    pixels = images.to_pixels(images.images)[rows]
    recon_pixels = images.to_pixels(reconstructions)
    image_error = (recon_pixels - pixels).flatten(1).norm(dim=1) / pixels.flatten(1).norm(
        dim=1
    ).clamp_min(1e-12)
    metrics = {
        "image_id": np.array(ids),
        "label": images.labels[rows].numpy(),
        "target_image_id": np.array(partner_ids),
        "feature_error": result.feature_error.cpu().numpy(),
        "image_error": image_error.numpy(),
        "diverged": result.diverged.cpu().numpy(),
        "label_final": predict(classifier, reconstructions).numpy(),
        "rank": identification_ranks(
            recon_pixels.numpy(),
            pixels.numpy(),
            images.to_pixels(images.pool).numpy(),
            images.candidates[rows].numpy(),
        ),
        "retried": retried.cpu().numpy(),
    }

    # file
    record = {
        key: spec[key] for key in ("model", "seed", "layer", "module", "t", "tp", "classifier_step")
    }
    record["n_candidates"] = images.candidates.shape[1] + 1
    save_inversion(
        output,
        {**record, **settings.as_dict()},
        recon_pixels.numpy(),
        pixels.numpy(),
        metrics,
        spec["p"],
        loop_seconds,
        drift,
    )
    return metrics
