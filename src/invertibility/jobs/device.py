"""Choose the compute device at run time: threads, GPU slots, the allocator setting."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from pathlib import Path

import torch

from ..core.errors import ConfigError
from ..methods.repeatable import seed_everything
from .allocator import keep_freed_memory

log = logging.getLogger(__name__)


_HELD_LOCKS: list = []  # lock files held for the life of the job process
SLOT_POLL_S = 1.0  # seconds between looks for a free slot when all are taken


def claim_gpu_slot(
    count: int, jobs_per_gpu: int = 1, lock_dir: str | None = None, poll_s: float = SLOT_POLL_S
) -> int:
    """Index of a GPU with a free slot: ``jobs_per_gpu`` lock files per GPU, released by the OS
    when the job ends (even on a kill). Slots fill GPU by GPU in turn (GPU 0's first slot, GPU
    1's first slot, ...), so jobs spread before they stack. When every slot is held, wait (and
    say so in the log) rather than share beyond the setting: Snakemake's ``gpu_slots`` resource
    keeps that rare, but another Snakemake on the same machine does not count against it."""
    lock_dir = Path(lock_dir or os.environ.get("INVERTIBILITY_GPU_LOCKS", tempfile.gettempdir()))
    slots = [(gpu, slot) for slot in range(jobs_per_gpu) for gpu in range(count)]
    waited = False
    while True:
        for gpu, slot in slots:
            handle = open(lock_dir / f"invertibility-gpu{gpu}-slot{slot}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            _HELD_LOCKS.append(handle)
            if waited:
                log.info("GPU %d slot %d is free", gpu, slot)
            return gpu
        if not waited:
            log.info("all %d slots of %d GPU(s) are held by other jobs; waiting", len(slots), count)
            waited = True
        time.sleep(poll_s)


def choose_device(requested: str = "auto", jobs_per_gpu: int = 1) -> torch.device:
    """``auto``: CUDA when present, else CPU. A job that a scheduler gave its own GPU(s)
    (SLURM sets CUDA_VISIBLE_DEVICES) uses the first of them; otherwise the job takes one of
    the ``jobs_per_gpu`` slots of a GPU (:func:`claim_gpu_slot`)."""
    if requested == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        if "CUDA_VISIBLE_DEVICES" in os.environ:
            return torch.device("cuda")
        return torch.device("cuda", claim_gpu_slot(torch.cuda.device_count(), jobs_per_gpu))
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: {requested!r} asked for, but no CUDA device is visible")
    return torch.device(requested)


def start_job(
    threads: int | None, requested: str = "auto", jobs_per_gpu: int = 1, seed: int | None = None
) -> torch.device:
    """What every torch job does first: keep freed memory for reuse (:mod:`.allocator`), use
    the threads its rule gave it, seed every generator if given a ``seed``
    (:func:`~invertibility.methods.repeatable.seed_everything`), and choose its device
    (:func:`choose_device`)."""
    keep_freed_memory()
    if threads:
        torch.set_num_threads(int(threads))
    if seed is not None:
        seed_everything(seed)
    return choose_device(requested, jobs_per_gpu)
