"""Choose the compute device at run time and make runs repeatable."""

from __future__ import annotations

import random

import numpy as np
import torch

from .errors import ConfigError


def choose_device(requested: str = "auto") -> torch.device:
    """``auto``: the GPU this job was given (CUDA_VISIBLE_DEVICES) when there is one, else CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
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
