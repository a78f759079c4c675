"""Batched inversion of layer activations (Mahendran & Vedaldi 2015) across training steps.

Solve, for every image ``i`` of a batch at once,

    x*_i = argmin_x  ||Phi0_i - r(x)||^2 / ||Phi0_i||^2 + lambda_a N_alpha(x) + lambda_tv TV_beta(x)

with SGD + momentum and a stepped learning-rate decay, from an initialization fixed per image
(seeded by the image id, so identical for every target step ``tp`` and every batch split).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..core.inversion_settings import InversionSettings
from .objectives import alpha_norm, relative_feature_loss, squared_norms, total_variation

log = logging.getLogger(__name__)


@dataclass
class InversionResult:
    reconstructions: torch.Tensor  # [N, C, H, W], standardized input space; NaN where diverged
    feature_error: torch.Tensor  # [N] ||Phi0 - r(x*)|| / ||Phi0||
    diverged: torch.Tensor  # [N] bool


def initial_images(image_ids: Sequence[str], shape: Sequence[int], std: float, seed: int):
    """Gaussian noise fixed per (seed, image id): the same start for every tp and batch split."""
    inits = []
    for image_id in image_ids:
        digest = hashlib.sha256(f"{seed}:{image_id}".encode()).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
        inits.append(torch.randn(tuple(shape), generator=generator) * std)
    return torch.stack(inits)


def objective(
    forward, x, target, settings: InversionSettings, target_norms: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-image objective ``[N]``; the network runs under autocast when asked for."""
    if settings.autocast:
        # bfloat16 keeps fp32's range: no loss scaling needed for these small normalized losses
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            features = forward(x)
    else:
        features = forward(x)
    return (
        relative_feature_loss(features, target, target_norms)
        + settings.lambda_alpha * alpha_norm(x, settings.alpha, settings.alpha_bound)
        + settings.lambda_tv * total_variation(x, settings.beta, settings.tv_bound)
    )


CHECK_EVERY = 10  # iterations between divergence checks (each check syncs with the GPU)


def invert(
    forward: Callable[[torch.Tensor], torch.Tensor],
    target: torch.Tensor,
    init: torch.Tensor,
    settings: InversionSettings,
    progress: bool = True,
) -> InversionResult:
    """Optimize the whole batch at once; an image whose loss turns NaN/inf is frozen as diverged.

    Images are independent (no op mixes samples, and the gradient of a sum is one per term), so
    a NaN stays inside its own image; it is looked for every ``CHECK_EVERY`` iterations only, so
    that the loop never waits on the GPU."""
    x = init.clone().requires_grad_(True)
    target = target.detach()
    optimizer = torch.optim.SGD([x], lr=settings.lr, momentum=settings.momentum)
    cuts = settings.cuts()
    alive = torch.ones(len(x), dtype=torch.bool, device=x.device)
    target_norms = squared_norms(target)  # constant: computed once, not every iteration

    def check(per_image: torch.Tensor) -> bool:
        """Freeze the images that went NaN/inf at their start; True if any image ever did."""
        with torch.no_grad():
            finite = torch.isfinite(per_image) & torch.isfinite(x).flatten(1).all(1)
            dead = alive & ~finite
            if dead.any():
                alive.logical_and_(finite)
                x[dead] = init[dead]
                buffer = optimizer.state[x].get("momentum_buffer")
                if buffer is not None:
                    buffer[dead] = 0.0
            return not bool(alive.all())

    bar = tqdm(range(settings.iterations), desc="invert", disable=not progress, mininterval=2)
    any_dead = False  # masking costs ops every iteration: only once an image has diverged
    for iteration in bar:
        if iteration in cuts:  # M&V: cut the step and restart the momentum
            optimizer.param_groups[0]["lr"] = settings.lr_at(iteration)
            optimizer.state[x].pop("momentum_buffer", None)
        optimizer.zero_grad(set_to_none=False)
        per_image = objective(forward, x, target, settings, target_norms)
        (per_image.masked_fill(~alive, 0.0) if any_dead else per_image).sum().backward()
        if iteration % CHECK_EVERY == 0:
            any_dead = check(per_image.detach())
            if any_dead:
                x.grad[~alive] = 0.0
        optimizer.step()
        if progress and iteration % CHECK_EVERY == 0:
            bar.set_postfix(
                loss=f"{per_image[alive].mean().item():.4f}",
                diverged=int((~alive).sum()),
                refresh=False,
            )
    with torch.no_grad():
        features = forward(x).float()
        error = (features - target.float()).flatten(1).norm(dim=1) / target_norms.sqrt()
        alive &= torch.isfinite(error) & torch.isfinite(x).flatten(1).all(1)
        reconstructions = x.detach().clone()
        reconstructions[~alive] = float("nan")
        error[~alive] = float("nan")
    return InversionResult(reconstructions, error, ~alive)


def is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def invert_in_chunks(
    forward: Callable[[torch.Tensor], torch.Tensor],
    target: torch.Tensor,
    init: torch.Tensor,
    settings: InversionSettings,
    progress: bool = True,
) -> InversionResult:
    """Invert the batch; on out-of-memory, halve the batch and retry each half.

    Images are independent problems with fixed initializations, so splitting changes nothing in
    the result (beyond floating-point reduction order).
    """
    try:
        return invert(forward, target, init, settings, progress)
    except (torch.OutOfMemoryError, RuntimeError) as error:
        if not is_out_of_memory(error) or len(init) == 1:
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        half = len(init) // 2
        log.warning(
            "out of memory inverting %d images; retrying as %d + %d",
            len(init),
            half,
            len(init) - half,
        )
        parts = [
            invert_in_chunks(forward, target[s], init[s], settings, progress)
            for s in (slice(0, half), slice(half, None))
        ]
        return InversionResult(
            torch.cat([p.reconstructions for p in parts]),
            torch.cat([p.feature_error for p in parts]),
            torch.cat([p.diverged for p in parts]),
        )


def invert_with_retry(
    forward: Callable[[torch.Tensor], torch.Tensor],
    target: torch.Tensor,
    init: torch.Tensor,
    settings: InversionSettings,
    progress: bool = True,
) -> tuple[InversionResult, torch.Tensor]:
    """Invert the batch; each image that diverged is retried alone with the step scaled by
    ``settings.retry_lr_factor``. Returns the result and a ``[N]`` mask of the retried images
    (an image still diverged after its retry stays marked diverged)."""
    result = invert_in_chunks(forward, target, init, settings, progress)
    retried = result.diverged.clone()
    retry = settings.with_lr(settings.lr * settings.retry_lr_factor)
    for i in torch.nonzero(retried).flatten().tolist():
        log.warning("image %d diverged; retrying it alone with lr %g", i, retry.lr)
        again = invert(forward, target[i : i + 1], init[i : i + 1], retry, progress=False)
        result.reconstructions[i] = again.reconstructions[0]
        result.feature_error[i] = again.feature_error[0]
        result.diverged[i] = again.diverged[0]
    return result, retried
