"""The title's hypothesis as an intervention: does the lower layers' drift act on the layers
above as a data augmentation?

For a network split at layer ``l`` into a *lower* part (up to ``l``) and a *head* (every layer
above), normal training runs to a start step ``t0`` and on to the end of its last
:class:`Window` (arm A's trajectory; the training images' features kept at each window's grid
of steps). A window's drift can be scaled to another window's root-mean-square drift
(:func:`in_window`), so that two windows differ in where the drift has taken the features, not
in its size. From ``t0``, copies of the head, each with the head's weights and momentum at ``t0``,
train for ``head_steps`` steps on the same batches in the same order, under arms that differ only
in the features of the training images they see:

* ``static`` (B): ``r^t0(x)``, the lower part frozen at ``t0``;
* ``drift`` (C): ``r^s(x)``, ``s`` drawn per image and step from the window's grid;
* ``rescaled`` (C'): C with each ``r^s(x)`` scaled to ``||r^t0(x)||`` (the norm's growth alone);
* ``permuted`` (E): ``r^t0(x_i) + r^s(x_j) - r^t0(x_j)``, ``j`` another training image of the
  same class (the class's drift direction, not the image's own);
* ``noise`` (D): ``r^t0(x)`` plus a Gaussian draw with the mean and covariance of the drift
  ``r^s(x') - r^t0(x')`` over the window's grid and the training images ``x'`` of ``x``'s class
  (shaped noise, as ISDA translates features along class-conditional covariance directions):
  the drift's size and shape, no image at all;
* ``shifted`` (F, the positive control): ``r^t0`` of the image shifted by up to ``shift``
  pixels each way (a standard input augmentation).

Every arm is scored with the lower part frozen at ``t0``, so their held-out features are the
same. The batches come from one generator shared by all arms; the replay steps ``s`` from one
shared by the replaying arms (C, C' and E draw the same ``s`` for an image at a step, so that
their contrasts are paired draw for draw); partners and shifts from each arm's own.
The outcome is the held-out cross-entropy after a temperature fitted on a validation split
(carved from the training images: nothing is fitted on the held-out ones), beside the raw one
and the accuracy. See ``studies/augmentation_pilot.py``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from torch import nn
from torch.utils.data import TensorDataset

from ..core.augmentation_settings import ARMS, AugmentationSettings
from .repeatable import stream
from .training import TrainSettings
from .training import train as run_training

OUTCOME_COLUMNS = [
    "arm",
    "step",  # head steps taken
    "split",  # train (static features of the training images), validation or held_out
    "cross_entropy",
    "cross_entropy_tempered",  # after the arm's temperature fitted on the validation split
    "temperature",
    "temperature_at_bound",  # the fit stopped at a bound of its search (log T = +-4): flagged
    "accuracy",
    "feature_norm",  # mean ||feature|| of the training features of the arm's last batches
    "active_fraction",  # of those features' units above 0 (the head's first ReLU passes them)
]


@dataclass
class Split:
    """Standardized images ``[N, C, H, W]`` and labels of one seed's three parts."""

    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor]
    held_out: tuple[torch.Tensor, torch.Tensor]


def split_model(model: nn.Sequential, split: str) -> tuple[nn.Sequential, nn.Sequential]:
    """The lower part (every module up to ``split``, included) and the head (the rest), sharing
    the model's parameters."""
    names = [name for name, _ in model.named_children()]
    if split not in names[:-1]:
        raise ValueError(f"no layer {split!r} with a head above it; the model has {names}")
    cut = names.index(split) + 1
    children = list(model.named_children())
    return nn.Sequential(OrderedDict(children[:cut])), nn.Sequential(OrderedDict(children[cut:]))


def batches(n: int, batch_size: int, steps: int, generator: torch.Generator):
    """``steps`` index batches, epoch after epoch of a random order (the last short batch of an
    epoch dropped, so every batch has the same size)."""
    made = []
    while len(made) < steps:
        order = torch.randperm(n, generator=generator)
        made += [order[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    return made[:steps]


def sgd(parameters, settings: AugmentationSettings) -> torch.optim.SGD:
    # fused, as the training jobs: one kernel per parameter for the whole update
    return torch.optim.SGD(parameters, lr=settings.lr, momentum=settings.momentum, fused=True)


@dataclass
class Trajectory:
    """Arm A up to the end of its last window: the head and its momentum at ``t0``, the lower
    part at ``t0``, and the training images' features at ``t0`` and at each grid step."""

    lower: nn.Sequential  # frozen at t0
    head: nn.Sequential  # at t0
    head_momentum: list[torch.Tensor]
    features_t0: torch.Tensor  # [N, D]
    features_grid: torch.Tensor  # [K, N, D]
    grid_steps: list[int]

    def cpu(self) -> Trajectory:
        """The trajectory on the CPU, where the arms train (the heads are small)."""
        return Trajectory(
            self.lower.cpu(),
            self.head.cpu(),
            [m.cpu() for m in self.head_momentum],
            self.features_t0.cpu(),
            self.features_grid.cpu(),
            self.grid_steps,
        )


@torch.no_grad()
def features_of(lower: nn.Module, images: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    return torch.cat([lower(images[i : i + chunk]) for i in range(0, len(images), chunk)])


class TrajectoryRecorder:
    """What the head's arms need of normal training, kept as it runs (the ``on_saved``
    callback of :func:`invertibility.methods.training.train`, saving at ``t0`` and at every grid
    step), for each split layer at once: at ``t0`` the lower part frozen, the head and its
    momentum; at each grid step the training images' features."""

    def __init__(self, images: torch.Tensor, splits: list[str], t0: int, grid: list[int]):
        self.images, self.splits, self.t0, self.grid = images, splits, t0, grid
        self.start: dict[str, tuple] = {}
        self.kept: dict[str, dict[int, torch.Tensor]] = {split: {} for split in splits}

    def save_at(self) -> set[int]:
        return {self.t0, *self.grid}

    @torch.no_grad()
    def __call__(self, model: nn.Module, optimizer: torch.optim.Optimizer, step: int) -> None:
        for split in self.splits:
            lower, head = split_model(model, split)
            if step == self.t0:
                momentum = [
                    optimizer.state[p]["momentum_buffer"].clone()
                    if "momentum_buffer" in optimizer.state[p]
                    else torch.zeros_like(p)
                    for p in head.parameters()
                ]
                frozen = copy.deepcopy(lower).eval().requires_grad_(False)
                self.start[split] = (frozen, copy.deepcopy(head), momentum)
            if step in self.grid:
                self.kept[split][step] = features_of(lower, self.images)

    def trajectory(self, split: str) -> Trajectory:
        frozen, head, momentum = self.start[split]
        features_t0 = features_of(frozen, self.images)
        kept = [self.kept[split][step] for step in self.grid]
        grid = torch.stack(kept) if kept else features_t0.new_empty(0, *features_t0.shape)
        return Trajectory(frozen, head, momentum, features_t0, grid, list(self.grid))


def normal_training(
    model: nn.Sequential,
    train,
    settings: AugmentationSettings,
    seed: int,
    splits: list[str] | None = None,
    device: torch.device | None = None,
    progress: bool = False,
    train_settings: TrainSettings | None = None,
) -> dict[str, Trajectory]:
    """Train the whole network (arm A) with the ``train`` rule's code
    (:func:`invertibility.methods.training.train`: its seeding, data order and optimizer;
    ``train_settings``, default the head's lr, momentum and batch size) on ``train`` = (images,
    labels) to the end of the last window, from the weights ``model`` holds; returns each split
    layer's :class:`Trajectory` (default: ``settings.split``'s), on the CPU."""
    images, labels = train
    splits = splits or [settings.split]
    device = device or torch.device("cpu")
    recorder = TrajectoryRecorder(images.to(device), splits, settings.t0, settings.grid_steps())
    train_settings = train_settings or TrainSettings(
        lr=settings.lr, momentum=settings.momentum, batch_size=settings.batch_size, seed=seed
    )
    run_training(
        model,
        TensorDataset(images, labels),
        train_settings,
        recorder.save_at(),
        per_epoch=-(-len(labels) // settings.batch_size),
        save=lambda *_: None,
        device=device,
        progress=progress,
        on_saved=recorder,
    )
    return {split: recorder.trajectory(split).cpu() for split in splits}


def rms_drift(trajectory: Trajectory) -> float:
    """Root-mean-square ``||r^s(x) - r^t0(x)||`` over the trajectory's grid steps and images."""
    drift = trajectory.features_grid - trajectory.features_t0
    return float(drift.pow(2).sum(-1).mean().sqrt())


def as_trained(trajectory: Trajectory, steps: list[int]) -> Trajectory:
    """The trajectory at some of its grid steps, unscaled."""
    kept = [trajectory.grid_steps.index(step) for step in steps]
    return dataclasses.replace(
        trajectory, features_grid=trajectory.features_grid[kept], grid_steps=list(steps)
    )


def window_scale(trajectory: Trajectory, settings: AugmentationSettings, name: str) -> float:
    """The factor a window's drift is scaled by: its ``match`` window's root-mean-square drift
    over its own (1 without a match)."""
    window = settings.window(name)
    if window.match is None:
        return 1.0
    matched = rms_drift(in_window(trajectory, settings, window.match))
    return matched / rms_drift(as_trained(trajectory, window.steps(settings.t0)))


def in_window(trajectory: Trajectory, settings: AugmentationSettings, name: str) -> Trajectory:
    """The trajectory seen through one window: its grid steps only, the drift scaled by its
    ``match`` window's root-mean-square drift over its own (:func:`window_scale`)."""
    seen = as_trained(trajectory, settings.window(name).steps(settings.t0))
    scale = window_scale(trajectory, settings, name)
    if scale == 1.0:
        return seen
    base = trajectory.features_t0
    return dataclasses.replace(seen, features_grid=base + scale * (seen.features_grid - base))


def shifted(images: torch.Tensor, pixels: int, background: float, generator) -> torch.Tensor:
    """Each image moved by its own random whole-pixel offset in ``[-pixels, pixels]`` along each
    axis, the uncovered border filled with ``background``."""
    n, _, height, width = images.shape
    padded = F.pad(images, (pixels,) * 4, value=background)
    offsets = torch.randint(0, 2 * pixels + 1, (n, 2), generator=generator)
    return torch.stack(
        [
            padded[i, :, dy : dy + height, dx : dx + width]
            for i, (dy, dx) in enumerate(offsets.tolist())
        ]
    )


def same_class_partners(labels: torch.Tensor, index: torch.Tensor, generator) -> torch.Tensor:
    """For each image of ``index``, another training image of its class (uniformly at random)."""
    partners = torch.empty_like(index)
    for position, i in enumerate(index.tolist()):
        pool = torch.nonzero(labels == labels[i]).flatten()
        pool = pool[pool != i]
        partners[position] = pool[torch.randint(len(pool), (1,), generator=generator)]
    return partners


@dataclass(frozen=True)
class ClassDrift:
    """The drift ``r^s(x) - r^t0(x)`` of each class's training images over the window's grid:
    its mean and its centred rows ``[M, D]`` (one per image and grid step), from which
    :meth:`draw` samples the Gaussian with that mean and (sample) covariance."""

    mean: dict[int, torch.Tensor]
    centred: dict[int, torch.Tensor]

    @classmethod
    def of(cls, trajectory: Trajectory, labels: torch.Tensor) -> ClassDrift:
        drift = trajectory.features_grid - trajectory.features_t0  # [K, N, D]
        mean, centred = {}, {}
        for label in labels.unique().tolist():
            rows = drift[:, labels == label].flatten(0, 1)
            mean[label] = rows.mean(0)
            centred[label] = rows - mean[label]
        return cls(mean, centred)

    def draw(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One draw per label: ``mean + g @ centred / sqrt(M - 1)``, ``g ~ N(0, I_M)``, exactly
        Gaussian with the class's sample covariance ``centred^T centred / (M - 1)`` (no D x D
        matrix is formed or factored)."""
        out = torch.empty(len(labels), next(iter(self.mean.values())).shape[0])
        for label in labels.unique().tolist():
            where = labels == label
            rows = self.centred[label]
            g = torch.randn(int(where.sum()), len(rows), generator=generator)
            out[where] = self.mean[label] + g @ rows / max(len(rows) - 1, 1) ** 0.5
        return out

    def per_step(
        self, order: list[torch.Tensor], labels: torch.Tensor, generator, chunk: int = 100
    ) -> Iterator[torch.Tensor]:
        """The draws for each step's images of ``order`` (``labels``: the training labels),
        made ``chunk`` steps at a time: one matrix product per class and chunk rather than per
        step (a step's product reads every row of its classes' drift: memory-bound)."""
        for start in range(0, len(order), chunk):
            steps = order[start : start + chunk]
            yield from self.draw(labels[torch.cat(steps)], generator).split(
                [len(step) for step in steps]
            )


def arm_features(
    arm: str,
    index: torch.Tensor,
    trajectory: Trajectory,
    train,
    settings: AugmentationSettings,
    streams: tuple[torch.Generator, torch.Generator],
    background: float,
    noise: Iterator[torch.Tensor] | None = None,
) -> torch.Tensor:
    """The features of the training images ``index`` that arm ``arm`` trains the head on;
    ``streams``: the replay steps' generator (shared by the replaying arms) and the arm's own;
    ``noise``: the noise arm's draws, one per step (:meth:`ClassDrift.per_step`)."""
    replay, own = streams
    base = trajectory.features_t0
    if arm == "static":
        return base[index]
    if arm == "noise":
        return base[index] + next(noise)
    if arm == "shifted":
        images = shifted(train[0][index], settings.shift, background, own)
        return features_of(trajectory.lower, images)
    draws = torch.randint(len(trajectory.grid_steps), (len(index),), generator=replay)
    grid = trajectory.features_grid
    if arm in ("drift", "rescaled"):
        drifted = grid[draws, index]
        if arm == "rescaled":
            scale = base[index].norm(dim=1) / drifted.norm(dim=1).clamp_min(1e-12)
            drifted = drifted * scale[:, None]
        return drifted
    if arm == "permuted":
        partners = same_class_partners(train[1], index, own)
        return base[index] + grid[draws, partners] - base[partners]
    raise ValueError(f"unknown arm {arm!r}; choose one of {ARMS}")


LOG_T_BOUNDS = (-4.0, 4.0)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature ``T`` minimizing the cross-entropy of ``logits / T`` (searched on log T
    within :data:`LOG_T_BOUNDS`)."""
    logits = logits.double()

    def loss(log_t: float) -> float:
        return float(F.cross_entropy(logits / np.exp(log_t), labels))

    return float(np.exp(minimize_scalar(loss, bounds=LOG_T_BOUNDS, method="bounded").x))


def at_bound(temperature: float, tolerance: float = 1e-3) -> bool:
    """Whether a fitted temperature stopped at a bound of its search."""
    return min(abs(np.log(temperature) - bound) for bound in LOG_T_BOUNDS) < tolerance


def train_arm(
    arm: str,
    trajectory: Trajectory,
    split: Split,
    settings: AugmentationSettings,
    order: list[torch.Tensor],
    seed: int,
    background: float,
) -> tuple[pd.DataFrame, nn.Sequential]:
    """Train a copy of the head from ``t0`` under ``arm`` on the batches ``order``; evaluate it
    at the start and every ``eval_every`` steps (and at the last) on the training, validation
    and held-out features of the lower part frozen at ``t0``. Returns one row per (step, split)
    of :data:`OUTCOME_COLUMNS`, and the trained head."""
    head = copy.deepcopy(trajectory.head).train()
    optimizer = sgd(head.parameters(), settings)
    for p, buffer in zip(head.parameters(), trajectory.head_momentum, strict=True):
        optimizer.state[p]["momentum_buffer"] = buffer.clone()
    streams = stream(seed, "replay"), stream(seed, arm)
    noise = (
        ClassDrift.of(trajectory, split.train[1]).per_step(order, split.train[1], streams[1])
        if arm == "noise"
        else None
    )
    fixed = {"train": (trajectory.features_t0, split.train[1])} | {
        name: (features_of(trajectory.lower, images), labels)
        for name, (images, labels) in (
            ("validation", split.validation),
            ("held_out", split.held_out),
        )
    }
    rows, seen = evaluate(head, fixed, arm, 0, np.nan, np.nan), []  # the head at t0
    for step, index in enumerate(order, start=1):
        features = arm_features(
            arm, index, trajectory, split.train, settings, streams, background, noise
        )
        seen.append((float(features.norm(dim=1).mean()), float((features > 0).float().mean())))
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(head(features), split.train[1][index]).backward()
        optimizer.step()
        if step % settings.eval_every == 0 or step == len(order):
            recent = np.mean(seen[-settings.eval_every :], axis=0)
            rows += evaluate(head, fixed, arm, step, *map(float, recent))
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS), head


@torch.no_grad()
def evaluate(head, fixed: dict, arm: str, step: int, norm: float, active: float) -> list[tuple]:
    head.eval()
    logits = {name: head(features) for name, (features, _) in fixed.items()}
    head.train()
    temperature = fit_temperature(logits["validation"], fixed["validation"][1])
    rows = []
    for name, (_, labels) in fixed.items():
        raw = logits[name]
        rows.append(
            (
                arm,
                step,
                name,
                float(F.cross_entropy(raw, labels)),
                float(F.cross_entropy(raw.double() / temperature, labels)),
                temperature,
                at_bound(temperature),
                float((raw.argmax(1) == labels).float().mean()),
                norm,
                active,
            )
        )
    return rows
