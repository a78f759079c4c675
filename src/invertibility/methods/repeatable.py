"""Seed every random generator a job draws from (Python's, NumPy's, torch's), so that a run
repeats."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def stream(seed: int, name: str) -> torch.Generator:
    """A generator of its own for each (seed, name), e.g. an image id or an experiment arm: the
    same draws in every process (Python's ``hash`` of a string is not)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
