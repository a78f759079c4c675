"""A training's resumable state: written atomically every few minutes and when the job's time
limit comes near, read back by the next attempt of the same job, so that a killed, preempted or
timed-out training goes on from where it was instead of from step 0.

The state lives in a folder of its own beside the job, outside its declared outputs (Snakemake
deletes a failed job's outputs), with the checkpoints written so far: they move into place only
when the training finishes. It is keyed to the job's spec and code: a state written for another
spec or code is discarded, and the log says so.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..core.atomic import atomic_path

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
STAGED = "checkpoints"


class TrainingStopped(RuntimeError):
    """The training stopped itself before its time limit, its state saved: a rerun resumes."""


def random_states() -> dict:
    """Every generator a training step may draw from (dropout draws from torch's), as tensors and
    plain values, which ``torch.load(weights_only=True)`` reads back without running code."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict) -> None:
    random.setstate(states["python"])
    kind, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def deadline(
    runtime_minutes: float | None,
    margin_s: float,
    environ=os.environ,
    now: Callable[[], float] = time.monotonic,
) -> float | None:
    """When a job under a scheduler that enforces its time limit (SLURM: ``SLURM_JOB_ID`` is
    set) must stop: ``margin_s`` seconds before ``runtime_minutes`` from now. None where nothing
    enforces the limit (a run on one machine)."""
    if runtime_minutes is None or "SLURM_JOB_ID" not in environ:
        return None
    return now() + 60.0 * runtime_minutes - margin_s


class ResumeState:
    """One job's resumable state in ``folder``, for the job ``key`` (its spec and code): read on
    construction (``state``, None for a fresh start), written by :meth:`write` every
    ``every_seconds`` (:meth:`due`) and at the ``stop_at`` deadline (:meth:`out_of_time`), with
    the lists the job registered with :meth:`keep`."""

    def __init__(
        self,
        folder: str | Path,
        key: str,
        every_seconds: float,
        stop_at: float | None = None,
        now: Callable[[], float] = time.monotonic,
    ):
        self.folder = Path(folder)
        self.key = key
        self.every_seconds = every_seconds
        self.stop_at = stop_at
        self.now = now
        self.written_at = now()
        self.kept: dict[str, list] = {}
        self.state = self._read()

    def _read(self) -> dict | None:
        path = self.folder / STATE_FILE
        if not path.is_file():
            if self.folder.exists():  # checkpoints staged by an attempt killed before a state
                shutil.rmtree(self.folder)
            return None
        try:
            state = torch.load(path, weights_only=True)
        except Exception as error:  # a torn or foreign file: start again rather than fail
            log.warning("discarding the unreadable resume state %s (%s)", path, error)
            shutil.rmtree(self.folder)
            return None
        if state.get("key") != self.key:
            log.warning(
                "discarding the resume state in %s: it was written for another spec or code",
                self.folder,
            )
            shutil.rmtree(self.folder)
            return None
        return state

    def keep(self, name: str) -> list:
        """A list the job fills (rows of its tables), saved with every state and given back
        filled as it was when the state was written."""
        self.kept[name] = list(self.state["kept"][name]) if self.state else []
        return self.kept[name]

    def staged(self, path: str | Path) -> Path:
        """Where a checkpoint bound for ``path`` waits until the training finishes."""
        return self.folder / STAGED / Path(path).name

    def due(self) -> bool:
        return self.now() - self.written_at >= self.every_seconds or self.out_of_time()

    def out_of_time(self) -> bool:
        return self.stop_at is not None and self.now() >= self.stop_at

    def write(self, training: dict) -> None:
        state = {"key": self.key, "kept": self.kept, **training}
        with atomic_path(self.folder / STATE_FILE) as tmp:
            torch.save(state, tmp)
        self.written_at = self.now()

    def finish(self, destinations: dict[Path, Path]) -> None:
        """Move each staged checkpoint to its destination, then remove the state."""
        for staged, destination in destinations.items():
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, destination)
        shutil.rmtree(self.folder, ignore_errors=True)
