"""Redundancy of a layer's weights: the frame potential (the drift between checkpoints is
:func:`invertibility.nets.taps.weight_drift`).

The frame potential of ``N`` unit vectors ``w_i`` in ``R^d`` is ``FP = sum_ij <w_i, w_j>^2``
(Benedetto & Fickus 2003). Its minimum over unit vectors is ``max(N, N^2 / d)``, reached by an
orthonormal set (``N <= d``) or a unit-norm tight frame (``N >= d``). ``frame_potential`` below is
``FP`` of a layer's weight rows (a conv's filters, flattened) divided by that minimum: 1 for a
frame without redundancy, growing as rows align.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def frame_potential(weight: torch.Tensor) -> float:
    """Normalized frame potential (>= 1) of the rows of ``weight`` (``[N, ...]``); rows of norm 0
    are dropped."""
    rows = weight.detach().flatten(1).double()
    norms = rows.norm(dim=1)
    rows = rows[norms > 0] / norms[norms > 0, None]
    n, d = rows.shape
    if n == 0:
        return float("nan")
    gram = rows @ rows.T if n <= d else rows.T @ rows  # the smaller Gram: same ||.||_F
    return float(gram.pow(2).sum()) / max(n, n * n / d)
