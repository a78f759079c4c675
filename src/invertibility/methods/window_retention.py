"""The manipulation check of the augmentation experiment's windows
(:mod:`invertibility.methods.augmentation`): how much of its image the function at ``t0`` still
recovers from the features of a window's steps, measured the way the pipeline's inversion jobs
measure it (docs/augmentation_plan.md, "Retained similarity of the windows").

For a few training images ``x_i``, the lower part frozen at ``t0`` (``r = r_l^t0``) inverts, in
one batched optimization (:func:`~invertibility.methods.inversion.invert_with_retry`, each row
started from its image's fixed noise):

* each activation step's features ``Phi0 = r_l^tp(x_i)`` (``tp``: the step, an int);
* the ``tp = t`` control: ``Phi0 = r(x_i)`` itself (``tp = t0``);
* the other-image control (``tp =`` :data:`~invertibility.core.vocabulary.OTHER_IMAGE`):
  ``Phi0 = r(x_j)`` for each of ``x_i``'s partners ``x_j`` (images of another class), its
  reconstruction compared with ``x_i``.

Each row's ``similarity`` is the pipeline's: the Pearson correlation of the reconstruction's
pixels with ``x_i``'s (:func:`invertibility.core.correlation.similarity`). The analysis side
reduces the rows to each window's retained similarity ``R``
(:func:`invertibility.analysis.retention.window_retention`, the seed's ``R`` of the paper's
claims per step, averaged over the window's steps).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import pandas as pd
import torch
from torch import nn

from ..core.correlation import similarity
from ..core.inversion_settings import InversionSettings
from ..core.vocabulary import OTHER_IMAGE
from ..nets.taps import other_image_targets
from .inversion import initial_images, invert_with_retry

COLUMNS = {
    "image_id": "object",  # x_i: the image whose reconstruction is compared with it
    "label": "int64",
    "t": "int64",  # the function step (t0)
    "tp": "object",  # the activation step (an int; t at the tp = t control) or OTHER_IMAGE
    "p": "Int64",  # tp - t; NA at the other-image control
    "target_image_id": "object",  # whose activations the row's target is (x_j for OTHER_IMAGE)
    "similarity": "float64",  # corr(x*, x_i) in pixel space; NaN where diverged
    "feature_error": "float64",  # ||Phi0 - r(x*)|| / ||Phi0||
    "diverged": "bool",
    "retried": "bool",  # diverged in the batch and retried alone with a smaller step
    "final_lr": "float64",  # the step the kept inversion started from
}


def window_similarity(
    lower: nn.Module,
    images: torch.Tensor,
    image_ids: Sequence[str],
    labels: torch.Tensor,
    t: int,
    targets: dict[int, torch.Tensor],
    pool: torch.Tensor,
    pool_ids: Sequence[str],
    partners: torch.Tensor,
    settings: InversionSettings | dict,
    device: torch.device | str = "cpu",
    to_pixels: Callable[[torch.Tensor], torch.Tensor] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Invert, with ``lower`` (the function at step ``t``, mapping standardized images to the
    split layer's output), every activation step of ``targets`` (step -> the features ``[n, D]``
    of ``images`` at that step), the ``tp = t`` control and the other-image control, all in one
    batched optimization. Returns one row per (image, step) and per (image, partner), the
    columns of :data:`COLUMNS`.

    ``images``: ``[n, C, H, W]`` standardized, with their ids and ``labels``; ``pool``: the
    images the partners are drawn from (standardized, with ``pool_ids``); ``partners``:
    ``[n, K]`` indices into ``pool``, each image's other-image partners, as an image set's
    (draw them with :func:`invertibility.data.image_sets.draw_partners`: images of another
    class, deterministic); ``settings``: the inversion settings of the model's layer (a dict
    from :meth:`invertibility.planning.inversions.InversionJobs.settings`, or the object);
    ``to_pixels``: maps standardized images back to pixels, to measure the similarity in pixel
    space as the inversion jobs' tables do (e.g. an image set's
    :meth:`~invertibility.data.image_sets.PreparedImages.to_pixels`); None measures it on the
    standardized images, the same where every channel has the same statistics (one channel, as
    MNIST's): a correlation ignores a positive affine map of all its pixels.
    ``lower`` is left as it is (a copy moves to ``device``)."""
    if not isinstance(settings, InversionSettings):
        settings = InversionSettings(**settings)
    if t in targets:
        raise ValueError(f"targets hold step {t}, the function's: its tp = t control is made here")
    n = len(images)
    if len(image_ids) != n or len(labels) != n or len(partners) != n:
        raise ValueError("images, image_ids, labels and partners must have one entry per image")
    device = torch.device(device)
    forward = copy.deepcopy(lower).to(device).requires_grad_(False)
    forward.train(settings.network_mode == "train")
    x = images.to(device)

    # targets: the tp = t control, each activation step, then the other-image rows
    steps = sorted(targets)
    with torch.no_grad():
        own = forward(x)
    for step in steps:
        if targets[step].shape != own.shape:
            raise ValueError(
                f"step {step}'s targets have shape {tuple(targets[step].shape)}; the function "
                f"maps the images to {tuple(own.shape)}"
            )
    other_rows, other_target = other_image_targets(forward, pool, partners, device)
    tps = [t, *steps]
    rows = torch.cat([torch.arange(n).repeat(len(tps)), other_rows])
    target = torch.cat([own, *(targets[step].to(device) for step in steps), other_target])
    ids = [image_ids[i] for i in rows.tolist()]

    # optimization: every row at once, each from its image's fixed start
    init = initial_images(ids, x.shape[1:], settings.init_std, settings.init_seed).to(device)
    result, retried, final_lr = invert_with_retry(forward, target, init, settings, progress)

    # measures, per row
    reconstructions = result.reconstructions.cpu()
    originals = images.cpu()[rows]
    if to_pixels is not None:
        reconstructions, originals = to_pixels(reconstructions), to_pixels(originals)
    row_tp = [tp for tp in tps for _ in range(n)] + [OTHER_IMAGE] * len(other_rows)
    target_ids = ids[: n * len(tps)] + [pool_ids[j] for j in partners.flatten().tolist()]
    frame = pd.DataFrame(
        {
            "image_id": ids,
            "label": labels.cpu()[rows].numpy(),
            "t": t,
            "tp": pd.Series(row_tp, dtype="object"),
            "p": pd.array([tp - t if tp != OTHER_IMAGE else None for tp in row_tp], "Int64"),
            "target_image_id": target_ids,
            "similarity": similarity(reconstructions.numpy(), originals.numpy()),
            "feature_error": result.feature_error.cpu().numpy(),
            "diverged": result.diverged.cpu().numpy(),
            "retried": retried.cpu().numpy(),
            "final_lr": final_lr.numpy(),
        }
    )
    return frame.astype(COLUMNS)
