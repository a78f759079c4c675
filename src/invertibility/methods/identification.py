"""Which image was reconstructed? Rank the original among held-out candidates (torch-free).

For a reconstruction ``x*`` of image ``x_i``, the similarity to each of ``K`` images (``x_i`` and
``K - 1`` held-out candidates of every class) is the Pearson correlation of the pixels, unclipped:
it ignores brightness and contrast (an inversion recovers neither reliably) and punishes no
overshoot. ``rank`` counts the candidates more similar to ``x*`` than ``x_i`` is (0: identified).
Chance, for a reconstruction unrelated to every image: ``P(rank = 0) = 1 / K`` and a mean
``identification score`` ``1 - rank / (K - 1)`` of 0.5.
"""

from __future__ import annotations

import numpy as np


def _standardized(x: np.ndarray) -> np.ndarray:
    """Rows (last axis) centred and scaled to unit norm (a constant row stays all zero)."""
    x = x.astype(np.float64)
    centred = x - x.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(centred, axis=-1, keepdims=True)
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0)


def identification_ranks(
    reconstructions: np.ndarray,
    originals: np.ndarray,
    pool: np.ndarray,
    candidates: np.ndarray,
    chunk: int = 16,
) -> np.ndarray:
    """``reconstructions``, ``originals``: ``[n, C, H, W]``; ``pool``: ``[P, C, H, W]`` held-out
    images; ``candidates``: ``[n, K - 1]`` pool indices (never the original). Returns ``[n]`` ranks
    as floats, NaN where the reconstruction is not finite. Works ``chunk`` rows at a time, so
    that large images never gather ``n x K`` copies at once."""
    n = len(reconstructions)
    recon = reconstructions.reshape(n, -1)
    finite = np.isfinite(recon).all(axis=1)
    recon = _standardized(np.nan_to_num(recon))
    own = np.einsum("nd,nd->n", recon, _standardized(originals.reshape(n, -1)))
    pool = _standardized(pool.reshape(len(pool), -1))
    ranks = np.empty(n)
    for start in range(0, n, chunk):
        rows = slice(start, start + chunk)
        others = np.einsum("nd,nkd->nk", recon[rows], pool[candidates[rows]])
        ranks[rows] = (others > own[rows, None]).sum(axis=1)
    ranks[~finite] = np.nan
    return ranks


def identification_score(rank: np.ndarray, n_candidates: int) -> np.ndarray:
    """``1 - rank / (K - 1)``: 1 when identified, 0 when every candidate is more similar."""
    return 1.0 - np.asarray(rank, dtype=float) / (n_candidates - 1)
