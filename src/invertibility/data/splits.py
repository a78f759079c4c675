"""A random split per seed: a dataset's items drawn into train, validation and held-out parts
(the ``mnist`` source's ``split``; the augmentation experiment's data)."""

from __future__ import annotations

import torch

PARTS = ("train", "validation", "held_out")


def split_indices(n: int, n_train: int, n_validation: int, seed: int) -> list[torch.Tensor]:
    """A random split of ``n`` items drawn from ``seed``: train, validation, the rest."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return [
        order[:n_train],
        order[n_train : n_train + n_validation],
        order[n_train + n_validation :],
    ]


def draw_split(images, labels, n_train: int, n_validation: int, seed: int) -> dict:
    """``{train, validation, held_out: (images, labels)}`` of :func:`split_indices` (so that
    intervals over seeds include the held-out set's sampling)."""
    parts = split_indices(len(labels), n_train, n_validation, seed)
    return {name: (images[p], labels[p]) for name, p in zip(PARTS, parts, strict=True)}
