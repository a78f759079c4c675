"""Weights across checkpoints: redundancy (frame potential) and drift between checkpoints.

The frame potential of ``N`` unit vectors ``w_i`` in ``R^d`` is ``FP = sum_ij <w_i, w_j>^2``
(Benedetto & Fickus 2003). Its minimum over unit vectors is ``max(N, N^2 / d)``, reached by an
orthonormal set (``N <= d``) or a unit-norm tight frame (``N >= d``). ``frame_potential`` below is
``FP`` of a layer's weight rows (a conv's filters, flattened) divided by that minimum: 1 for a
frame without redundancy, growing as rows align.
"""

from __future__ import annotations

import torch
from torch import nn

from ..nets.models import parameters_up_to


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


@torch.no_grad()
def relative_change(before: list[torch.Tensor], after: list[torch.Tensor]) -> float:
    """``||after - before|| / ||before||`` over a list of parameters (NaN if ``before`` is 0)."""
    moved = sum(float((a - b).double().pow(2).sum()) for a, b in zip(after, before, strict=True))
    size = sum(float(b.double().pow(2).sum()) for b in before)
    return (moved / size) ** 0.5 if size > 0 else float("nan")


def weight_drift(before: nn.Module, after: nn.Module, module: str) -> float:
    """``D_l = ||theta_{<=l}^after - theta_{<=l}^before|| / ||theta_{<=l}^before||`` over the
    parameters that ``r_l`` (the output of ``module``) depends on."""
    names = parameters_up_to(before, module)
    old, new = dict(before.named_parameters()), dict(after.named_parameters())
    return relative_change([old[n] for n in names], [new[n] for n in names])
