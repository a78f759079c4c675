"""How much a layer's representation of the held-out pool moves from step ``t`` to ``tp``.

For representations ``X = r_l^t(pool)`` and ``Y = r_l^tp(pool)`` (``[n, features]``):

* ``cka``: linear centered kernel alignment (Kornblith et al. 2019), 1 for representations
  equal up to rotation and isotropic scaling; the plug-in (biased) HSIC estimator, which is
  inflated when features far outnumber images (ResNet's conv5: 16,384 features, 500 images);
* ``cka_debiased``: the same with the unbiased HSIC estimator (Song et al. 2012), as in
  Kornblith et al.'s released code and Nguyen et al. (2021): near 0 for unrelated
  representations however many features they have;
* ``cosine``: mean over images of the cosine between ``r_l^t(x)`` and ``r_l^tp(x)``;
* ``norm_distance``: mean of ``||r_l^t(x) - r_l^tp(x)||`` (the paper's Section 4 quantity);
* ``relative_distance``: mean of that distance over ``||r_l^t(x)||``.
"""

from __future__ import annotations

import torch


def gram(x: torch.Tensor) -> torch.Tensor:
    """``X X^T`` (float64, ``[n, n]``) of a ``[n, ...]`` representation: all that both CKA
    estimators need of it, so a step compared with several others is multiplied out once (for
    ResNet's conv1, 65,536 features of 500 images, each product is 16 G multiply-adds)."""
    a = x.flatten(1).double()
    return a @ a.T


def _centered(k: torch.Tensor) -> torch.Tensor:
    """``H K H`` with ``H = I - 11^T / n``: the Gram of the mean-centered representation."""
    return k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()


def cka_of_grams(k: torch.Tensor, m: torch.Tensor) -> float:
    """Linear CKA from the two representations' Grams (:func:`gram`)."""
    k, m = _centered(k), _centered(m)
    denominator = float(k.norm() * m.norm())
    return float((k * m).sum()) / denominator if denominator > 0 else float("nan")


@torch.no_grad()
def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA of two ``[n, ...]`` representations of the same ``n`` images."""
    return cka_of_grams(gram(x), gram(y))


def _unbiased_hsic(k: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Song et al.'s unbiased HSIC of two ``[n, n]`` Gram matrices (``n >= 4``), without the
    ``1 / (n (n - 3))`` factor, which cancels in CKA."""
    n = k.shape[0]
    k, m = k.clone(), m.clone()
    k.fill_diagonal_(0)
    m.fill_diagonal_(0)
    ones_k, ones_m = k.sum(0), m.sum(0)
    return (
        (k * m).sum()
        + ones_k.sum() * ones_m.sum() / ((n - 1) * (n - 2))
        - 2 * (ones_k @ ones_m) / (n - 2)
    )


def debiased_cka_of_grams(k: torch.Tensor, m: torch.Tensor) -> float:
    """Linear CKA with the unbiased HSIC estimator, from the Grams (:func:`gram`)."""
    if len(k) < 4:
        return float("nan")
    denominator = float(_unbiased_hsic(k, k) * _unbiased_hsic(m, m))
    if denominator <= 0:
        return float("nan")
    return float(_unbiased_hsic(k, m)) / denominator**0.5


@torch.no_grad()
def debiased_linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA of two ``[n, ...]`` representations with the unbiased HSIC estimator."""
    return debiased_cka_of_grams(gram(x), gram(y))


@torch.no_grad()
def representation_change(
    x: torch.Tensor, y: torch.Tensor, grams: tuple[torch.Tensor, torch.Tensor] | None = None
) -> dict[str, float]:
    """``cka``, ``cka_debiased``, ``cosine``, ``norm_distance`` and ``relative_distance`` from
    ``x`` to ``y``; ``grams``: their :func:`gram`, when the caller keeps them."""
    k, m = (gram(x), gram(y)) if grams is None else grams
    a, b = x.flatten(1).double(), y.flatten(1).double()
    distance = (a - b).norm(dim=1)
    norm_a, norm_b = a.norm(dim=1), b.norm(dim=1)
    both = (norm_a > 0) & (norm_b > 0)
    cosine = (a * b).sum(1)[both] / (norm_a * norm_b)[both]
    return {
        "cka": cka_of_grams(k, m),
        "cka_debiased": debiased_cka_of_grams(k, m),
        "cosine": float(cosine.mean()) if both.any() else float("nan"),
        "norm_distance": float(distance.mean()),
        "relative_distance": float((distance[norm_a > 0] / norm_a[norm_a > 0]).mean())
        if (norm_a > 0).any()
        else float("nan"),
    }
