"""Batched inversion of layer activations (Mahendran & Vedaldi 2015) across training steps.

Solve, for every image ``i`` of a batch at once,

    x*_i = argmin_x  ||Phi0_i - r(x)||^2 / ||Phi0_i||^2 + lambda_a N_alpha(x) + lambda_tv TV_beta(x)

with SGD + momentum and a stepped learning-rate decay, from an initialization fixed per image
(seeded by the image id, so identical for every target step ``tp`` and every batch split).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..core.inversion_settings import InversionSettings
from .objectives import (
    PriorGradient,
    alpha_norm,
    relative_feature_loss,
    squared_norms,
    total_variation,
)
from .repeatable import stream

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
        inits.append(torch.randn(tuple(shape), generator=stream(seed, image_id)) * std)
    return torch.stack(inits)


def network_features(forward, x: torch.Tensor, autocast: bool) -> torch.Tensor:
    """The layer's activations of ``x``; the network runs under autocast when asked for."""
    if not autocast:
        return forward(x)
    # bfloat16 keeps fp32's range: no loss scaling needed for these small normalized losses
    with torch.autocast(x.device.type, dtype=torch.bfloat16):
        return forward(x)


class Objective:
    """The objective of one batch and its gradient, with the target's norms and every buffer
    the loop can reuse computed or allocated once: the priors' gradient in closed form
    (:class:`~.objectives.PriorGradient`), the data term's by the network's backward pass, and
    the objective's value only where it is read."""

    def __init__(self, target: torch.Tensor, x: torch.Tensor, settings: InversionSettings):
        self.settings = settings
        self.target = target.detach().float()
        self.norms = squared_norms(self.target)
        # d/df ||f - target||^2 / ||target||^2 = 2 (f - target) / ||target||^2, per image
        self.feature_scale = (2.0 / self.norms).view(-1, *[1] * (self.target.dim() - 1))
        self.difference = torch.empty_like(self.target)
        s = settings
        self.prior_grad = PriorGradient(
            x, s.alpha, s.alpha_bound, s.lambda_alpha, s.beta, s.tv_bound, s.lambda_tv
        )

    def feature_grad(self, features: torch.Tensor) -> torch.Tensor:
        """d(data term)/d(features), in the features' dtype (into a buffer that the next call
        overwrites)."""
        with torch.no_grad():
            grad = torch.sub(features, self.target, out=self.difference).mul_(self.feature_scale)
        return grad if grad.dtype == features.dtype else grad.to(features.dtype)

    def values(self, features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-image objective ``[N]`` at ``x`` (``features``: its activations)."""
        s = self.settings
        with torch.no_grad():
            return (
                relative_feature_loss(features, self.target, self.norms)
                + s.lambda_alpha * alpha_norm(x, s.alpha, s.alpha_bound)
                + s.lambda_tv * total_variation(x, s.beta, s.tv_bound)
            )


def dense(tensor: torch.Tensor) -> bool:
    """Whether every element has a memory location of its own, in one of the layouts the
    inversion uses."""
    return tensor.is_contiguous() or (
        tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last)
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

    Each iteration adds the priors' gradient to the data term's, which the network's backward
    pass gives. The step is SGD with momentum as ``torch.optim.SGD`` computes it, written
    out without its per-step bookkeeping: ``v = g`` after a restart, else ``v = g + momentum v``;
    ``x -= lr v``; the momentum restarts at each cut of the step.
    Images are independent (no op mixes samples, and the gradient of a sum is one per term), so
    a NaN stays inside its own image; it is looked for every ``CHECK_EVERY`` iterations only, so
    that the loop never waits on the GPU."""
    x = init.clone().requires_grad_(True)
    objective = Objective(target, x, settings)
    cuts = settings.cuts()
    lr, restart = settings.lr, True
    velocity = torch.empty_like(x)  # the loop's own: the gradient may alias other buffers
    alive = torch.ones(len(x), dtype=torch.bool, device=x.device)

    def check(per_image: torch.Tensor, grad: torch.Tensor) -> bool:
        """Freeze the images that went NaN/inf at their start; True if any image ever did."""
        finite = torch.isfinite(per_image) & torch.isfinite(x).flatten(1).all(1)
        dead = alive & ~finite
        if dead.any():
            alive.logical_and_(finite)
            x[dead] = init[dead]
            grad[dead] = 0.0
            velocity[dead] = 0.0
        return not bool(alive.all())

    bar = tqdm(range(settings.iterations), desc="invert", disable=not progress, mininterval=2)
    any_dead = False  # masking costs ops every iteration: only once an image has diverged
    for iteration in bar:
        if iteration in cuts:  # M&V: cut the step and restart the momentum
            lr, restart = settings.lr_at(iteration), True
        features = network_features(forward, x, settings.autocast)
        feature_grad = objective.feature_grad(features)
        if any_dead:  # a diverged image's features may be NaN: keep them out of the backward
            feature_grad[~alive] = 0.0
        (grad,) = torch.autograd.grad(features, x, feature_grad)
        if not dense(grad):  # e.g. expanded by a channel sum: not writable in place
            grad = grad.contiguous()
        objective.prior_grad.add_to(grad)
        with torch.no_grad():
            if any_dead:
                grad[~alive] = 0.0
            if iteration % CHECK_EVERY == 0:
                per_image = objective.values(features, x)
                any_dead = check(per_image, grad)
                if progress:
                    bar.set_postfix(
                        loss=f"{per_image[alive].mean().item():.4f}",
                        diverged=int((~alive).sum()),
                        refresh=False,
                    )
            if restart:
                velocity.copy_(grad)
                restart = False
            else:  # one pass: v = g + momentum v
                torch.add(grad, velocity, alpha=settings.momentum, out=velocity)
            x.add_(velocity, alpha=-lr)
        del features, grad  # not held through the next iteration's passes
    with torch.no_grad():
        features = forward(x).float()
        error = (features - objective.target).flatten(1).norm(dim=1) / objective.norms.sqrt()
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
) -> tuple[InversionResult, torch.Tensor, torch.Tensor]:
    """Invert the batch; each image that diverged is retried alone from the same start, its
    step cut by ``settings.retry_lr_factor`` each time, until it converges or
    ``settings.retries`` cuts are spent (it then stays marked diverged). Returns the result, a
    ``[N]`` mask of the retried images and ``[N]`` the step (``lr``) each image's kept
    inversion started from."""
    result = invert_in_chunks(forward, target, init, settings, progress)
    retried = result.diverged.clone() if settings.retries else torch.zeros_like(result.diverged)
    final_lr = torch.full((len(init),), settings.lr, dtype=torch.float64)
    for i in torch.nonzero(retried).flatten().tolist():
        for cut in range(1, settings.retries + 1):
            retry = settings.with_lr(settings.lr * settings.retry_lr_factor**cut)
            log.warning("image %d diverged; retrying it alone with lr %g", i, retry.lr)
            again = invert(forward, target[i : i + 1], init[i : i + 1], retry, progress=False)
            result.reconstructions[i] = again.reconstructions[0]
            result.feature_error[i] = again.feature_error[0]
            result.diverged[i] = again.diverged[0]
            final_lr[i] = retry.lr
            if not again.diverged[0]:
                break
    return result, retried, final_lr
