"""Choose the compute device at run time and make runs repeatable."""

from __future__ import annotations

import fcntl
import logging
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from .errors import ConfigError

log = logging.getLogger(__name__)


_HELD_LOCKS: list = []  # lock files held for the life of the job process


def claim_free_gpu(count: int, lock_dir: str | None = None) -> int:
    """Index of a GPU no other job of this machine holds: lock files, one per GPU, released
    by the OS when the job ends (even on a kill). With ``--resources gpu=N`` at most N jobs
    ask at once, so one is always free; if none is, share GPU 0 (say so in the log)."""
    lock_dir = Path(lock_dir or os.environ.get("INVERTIBILITY_GPU_LOCKS", tempfile.gettempdir()))
    for index in range(count):
        handle = open(lock_dir / f"invertibility-gpu{index}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _HELD_LOCKS.append(handle)
        return index
    log.warning("all %d GPUs are held by other jobs; sharing GPU 0", count)
    return 0


def choose_device(requested: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else CPU. A job that a scheduler gave its own GPU(s)
    (SLURM sets CUDA_VISIBLE_DEVICES) uses the first of them; on a shared machine with several
    GPUs and no such setting, the job claims a free one."""
    if requested == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        count = torch.cuda.device_count()
        if count > 1 and "CUDA_VISIBLE_DEVICES" not in os.environ:
            return torch.device("cuda", claim_free_gpu(count))
        return torch.device("cuda")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: {requested!r} asked for, but no CUDA device is visible")
    return torch.device(requested)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(int(threads))
