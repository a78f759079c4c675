"""Seed every random generator a job draws from (Python's, NumPy's, torch's), so that a run
repeats."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
