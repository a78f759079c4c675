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
from .device import choose_device, seed_everything, set_threads
from .inversion import InversionSettings, initial_images, invert_in_chunks
from .inversion_io import save_inversion
from .taps import Tap
from .vocabulary import OTHER_IMAGE

log = logging.getLogger(__name__)


def other_class_partner(labels: torch.Tensor) -> torch.Tensor:
    """For each image, the index of the next image (cyclically) of a different class; photos
    (label -1) are paired with the next photo, or the next labelled image if there is one only."""
    n = len(labels)
    partner = []
    for i in range(n):
        for step in range(1, n):
            j = (i + step) % n
            if labels[j] != labels[i] or (labels[i] == -1 and j != i):
                partner.append(j)
                break
        else:
            partner.append(i)
    return torch.tensor(partner, dtype=torch.long)


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
    spec: dict, inputs: dict[str, str], output: str, threads: int = 1, progress: bool = True
) -> dict:
    """``inputs``: the ``images`` file and the model's ``checkpoints`` folder, from which the job
    reads the ``t``, ``tp`` (not for the other-image control) and ``classifier`` checkpoints
    its spec names. Writes the inversion file; returns its metrics."""
    # spec
    set_threads(threads)
    device = choose_device(spec["device"])
    settings = InversionSettings(**spec["settings"])
    seed_everything(settings.seed)
    module = spec["module"]
    checkpoints = spec["checkpoints"]

    # images
    images = image_sets.load(inputs["images"], spec["images_fingerprint"])
    x = images.images.to(device)

    # networks: the function r_l^t, truncated at the layer
    forward = Tap(load_network(spec["network"], checkpoints["t"]).to(device), module)

    # targets: Phi0 = r_l^tp(x_i), or r_l^t(x_j) of another class for the control
    with torch.no_grad():
        if spec["tp"] == OTHER_IMAGE:
            partner = other_class_partner(images.labels)
            target = forward(x[partner.to(device)])
        else:
            partner = torch.arange(len(x))
            target = Tap(load_network(spec["network"], checkpoints["tp"]).to(device), module)(x)

    # optimization
    init = initial_images(images.ids, x.shape[1:], settings.init_std, settings.seed).to(device)
    start = time.perf_counter()
    result = invert_in_chunks(forward, target, init, settings, progress)
    reconstructions = result.reconstructions.cpu()  # waits for the GPU: the loop's true end
    loop_seconds = time.perf_counter() - start
    n_diverged = int(result.diverged.sum())
    if n_diverged:
        log.warning("%d of %d images diverged (NaN/inf) in %s", n_diverged, len(x), output)
    log.info("optimization loop: %.2f s for %d images", loop_seconds, len(x))

    # metrics
    classifier = load_network(spec["network"], checkpoints["classifier"]).to(device)
    pixels = images.to_pixels(images.images)
    recon_pixels = images.to_pixels(reconstructions)
    image_error = (recon_pixels - pixels).flatten(1).norm(dim=1) / pixels.flatten(1).norm(
        dim=1
    ).clamp_min(1e-12)
    metrics = {
        "image_id": np.array(images.ids),
        "label": images.labels.numpy(),
        "target_image_id": np.array([images.ids[j] for j in partner.tolist()]),
        "feature_error": result.feature_error.cpu().numpy(),
        "image_error": image_error.numpy(),
        "diverged": result.diverged.cpu().numpy(),
        "label_final": predict(classifier, reconstructions).numpy(),
    }

    # file
    settings_record = {
        key: spec[key] for key in ("model", "layer", "module", "t", "tp", "classifier_step")
    }
    save_inversion(
        output,
        {**settings_record, **settings.as_dict()},
        recon_pixels.numpy(),
        pixels.numpy(),
        metrics,
        spec["p"],
        loop_seconds,
    )
    return metrics
