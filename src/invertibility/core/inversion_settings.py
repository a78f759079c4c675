"""Inversion hyper-parameters and Mahendran & Vedaldi's schedule, torch-free.

M&V (2015, and their released code) optimize with momentum 0.9 and a step that is cut to 0.1x
and then 0.01x of its start for the last part of the run, restarting the momentum at each cut;
their total-variation weight grows with depth (0.5 for conv1-2, 5 for conv3-4, 50 for conv5 and
the fully connected layers: 100x from conv1 to conv5, about sqrt(10) per weighted layer).

Here the objective is normalized per pixel and per unit of ``tv_bound`` (see objectives.py), so
M&V's absolute constants do not carry over; their *ratios* do. ``lambda_tv`` is the weight at
depth 1 and grows by ``tv_depth_growth`` (default sqrt(10), M&V's ratio) per weighted layer; the
default ``lambda_tv = 0.001`` puts depth 3 at 0.01, the single weight this project used for every
layer before (chosen once, before any result it decides). ``iterations_per_depth`` adds
iterations per weighted layer (M&V use the same number for every layer: default 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class InversionSettings:
    iterations: int = 300
    lr: float = 5.0
    momentum: float = 0.9
    decay_at: tuple[float, ...] = (0.5, 0.8)  # fractions of the iterations where the step is cut
    decay_factors: tuple[float, ...] = (0.1, 0.01)  # the step there, relative to ``lr``
    alpha: float = 6.0
    lambda_alpha: float = 1e-5
    alpha_bound: float = 2.0
    beta: float = 2.0
    lambda_tv: float = 0.001  # resolved per layer by layer_settings
    tv_bound: float = 0.3
    init_std: float = 0.1
    init_seed: int = 0  # seeds the starting noise (with the image id)
    autocast: bool = False
    retry_lr_factor: float = 0.1  # a diverged image is retried alone with this step factor
    retries: int = 3  # ... at most this many times, the step cut by the factor each time
    depth: int = 1  # weighted layers up to the tapped one (resolved by layer_settings)
    network_mode: str = "eval"  # eval: BN uses the checkpoint's running statistics

    def __post_init__(self):
        object.__setattr__(self, "decay_at", tuple(self.decay_at))
        object.__setattr__(self, "decay_factors", tuple(self.decay_factors))

    def lr_at(self, iteration: int) -> float:
        """The step size at ``iteration`` (0-based): ``lr`` until the first cut, then
        ``lr * decay_factors[k]`` after the k-th cut."""
        factor = 1.0
        for at, decayed in zip(self.decay_at, self.decay_factors, strict=True):
            if iteration >= round(at * self.iterations):
                factor = decayed
        return self.lr * factor

    def cuts(self) -> set[int]:
        """Iterations at which the step is cut (and the momentum restarted)."""
        return {round(at * self.iterations) for at in self.decay_at}

    def with_lr(self, lr: float) -> InversionSettings:
        return InversionSettings(**{**self.as_dict(), "lr": lr})

    def as_dict(self) -> dict:
        record = asdict(self)
        record["decay_at"] = list(self.decay_at)
        record["decay_factors"] = list(self.decay_factors)
        return record


def layer_settings(settings: dict, depth: int) -> dict:
    """Config settings (global merged with the model's) resolved for a layer of ``depth``
    weighted layers: the TV weight and iteration count that layer gets."""
    resolved = dict(settings)
    growth = resolved.pop("tv_depth_growth", 10**0.5)
    per_depth = resolved.pop("iterations_per_depth", 0)
    base_tv = resolved.get("lambda_tv", InversionSettings.lambda_tv)
    base_iterations = resolved.get("iterations", InversionSettings.iterations)
    resolved["lambda_tv"] = base_tv * growth ** (depth - 1)
    resolved["iterations"] = base_iterations + per_depth * (depth - 1)
    resolved["depth"] = depth
    return resolved
