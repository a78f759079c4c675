"""The augmentation experiment's settings, torch-free (the planner and the job both read them):
its arms, its windows of normal training, and one split layer's settings. See
:mod:`invertibility.methods.augmentation` for what they mean."""

from __future__ import annotations

from dataclasses import dataclass

ARMS = ("static", "drift", "rescaled", "permuted", "noise", "shifted")
WINDOW_FREE = ("static", "shifted")  # arms that draw on no window: one run per layer serves all


@dataclass(frozen=True)
class Window:
    """Steps of normal training whose features drift replay draws from: ``grid`` evenly spaced
    steps of ``(t0 + start, t0 + end]``, the last at ``t0 + end``; ``match``: the name of a
    window whose root-mean-square drift this one's is scaled to (None: as trained)."""

    name: str
    start: int
    end: int
    grid: int
    match: str | None = None

    def steps(self, t0: int) -> list[int]:
        span = self.end - self.start
        return sorted(
            {t0 + self.start + round(k * span / self.grid) for k in range(1, self.grid + 1)}
        )


@dataclass(frozen=True)
class AugmentationSettings:
    split: str  # the layer whose output the head reads (a module name: fc1, fc2, ...)
    t0: int  # steps of normal training before the head's own
    windows: tuple[Window, ...]  # the steps of normal training drift replay draws from
    head_steps: int
    eval_every: int
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 64
    shift: int = 2  # pixels each way, for the shifted arm

    def grid_steps(self) -> list[int]:
        """Every window's kept steps, in order."""
        return sorted({step for window in self.windows for step in window.steps(self.t0)})

    def window(self, name: str) -> Window:
        for window in self.windows:
            if window.name == name:
                return window
        raise ValueError(f"no window {name!r}; the windows are {[w.name for w in self.windows]}")


def windows_of(entries: dict) -> tuple[Window, ...]:
    """A config's (or a spec's) ``windows`` entries, by name, as :class:`Window` s."""
    return tuple(
        Window(name, w["start"], w["end"], w["grid"], w.get("match")) for name, w in entries.items()
    )
