"""Step labels ``j_k``: the weights after iteration ``k`` of epoch ``j`` (``0_0`` = initialization).

A step label maps to a global optimizer step ``j * iterations_per_epoch + k``. ``k`` may equal
``iterations_per_epoch`` (the end of epoch ``j``) but not exceed it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import ConfigError

STEP_PATTERN = r"\d+_\d+"
_STEP_RE = re.compile(rf"^{STEP_PATTERN}$")


def iterations_per_epoch(train_size: int, batch_size: int) -> int:
    """Optimizer steps in one epoch: the last, smaller batch counts as a step."""
    if train_size <= 0 or batch_size <= 0:
        raise ConfigError(f"train size ({train_size}) and batch size ({batch_size}) must be > 0")
    return math.ceil(train_size / batch_size)


@dataclass(frozen=True, order=True)
class Step:
    epoch: int
    iteration: int

    @property
    def label(self) -> str:
        return f"{self.epoch}_{self.iteration}"

    def index(self, per_epoch: int) -> int:
        """Global number of optimizer steps taken to reach these weights."""
        return self.epoch * per_epoch + self.iteration

    def __str__(self) -> str:
        return self.label


def parse_step(label: str, per_epoch: int | None = None, where: str = "step") -> Step:
    """Parse ``j_k``; with ``per_epoch`` also check that ``k`` lies within an epoch."""
    if not isinstance(label, str) or not _STEP_RE.match(label):
        raise ConfigError(f"{where}: {label!r} is not a step label of the form j_k (e.g. 0_10)")
    epoch, iteration = (int(part) for part in label.split("_"))
    if per_epoch is not None and iteration > per_epoch:
        raise ConfigError(
            f"{where}: step {label} asks for iteration {iteration} of epoch {epoch}, but an epoch "
            f"has only {per_epoch} iterations (ceil(train size / batch size)); use a smaller k "
            f"or a smaller batch size"
        )
    return Step(epoch, iteration)


def step_from_index(index: int, per_epoch: int) -> Step:
    """The canonical label of a global step (``k < per_epoch``)."""
    return Step(index // per_epoch, index % per_epoch)


def checkpoint_schedule(
    entries: list, per_epoch: int, epochs: int, classifier: str | None, where: str
) -> tuple[list[str], str]:
    """A model's saved steps, in training order, and its classifier step: ``entries`` (the
    model's ``checkpoints``: labels, and ranges ``{every, until, from}``) with the
    ``classifier`` step (saved too; under the schedule's label if one names the same step; by
    default the last saved step), each within ``epochs`` of ``per_epoch`` iterations."""

    def index(label: str, at: str) -> int:
        return parse_step(label, per_epoch, at).index(per_epoch)

    steps: dict[int, str] = {}
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            steps.setdefault(index(entry, f"{where}[{i}]"), entry)
            continue
        start = index(entry.get("from", "0_0"), f"{where}[{i}].from")
        until = index(entry["until"], f"{where}[{i}].until")
        if until < start:
            raise ConfigError(
                f"{where}[{i}]: the range is empty: until {entry['until']} comes before "
                f"from {entry.get('from', '0_0')}"
            )
        for step in range(start, until + 1, entry["every"]):
            steps.setdefault(step, step_from_index(step, per_epoch).label)
    if classifier:
        at = where.rpartition(".")[0] + ".classifier_step"
        classifier = steps.setdefault(index(classifier, at), classifier)
    if not steps:
        raise ConfigError(f"{where}: the schedule saves no step")
    last, length = max(steps), epochs * per_epoch
    if last > length:
        model = where.rpartition(".")[0]
        raise ConfigError(
            f"{where}: step {steps[last]} (optimizer step {last}) is past the training "
            f"length: {epochs} epochs x {per_epoch} iterations = {length} steps ({epochs}_0); "
            f"raise {model}.train.epochs or drop the step"
        )
    return [steps[i] for i in sorted(steps)], classifier or steps[last]


def spread(t: str, per_epoch: int, every: int, count: int, where: str) -> list[str]:
    """``count`` step labels ``every`` optimizer steps apart, from step ``t`` on."""
    start = parse_step(t, per_epoch, where).index(per_epoch)
    return [step_from_index(start + k * every, per_epoch).label for k in range(count)]
