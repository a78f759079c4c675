"""The pipeline's similarity of a reconstruction with its image, on numbers both sides hold
(torch-free): the Pearson correlation of their pixels, unclipped
(:mod:`invertibility.analysis.recognition` says why). The analysis side computes it from the
inversion files; the torch side, where a job measures a reconstruction it has just made (the
augmentation experiment's windows, :mod:`invertibility.methods.window_retention`).
"""

from __future__ import annotations

import numpy as np


def standardized(x: np.ndarray) -> np.ndarray:
    """Rows (``[n, ...]`` flattened) centred and scaled to unit norm; a constant row stays 0."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    centred = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0)


def similarity(reconstructions: np.ndarray, originals: np.ndarray) -> np.ndarray:
    """``corr(x*, x_i)`` per row of ``[n, ...]`` pixels: 0 for a constant reconstruction, NaN
    where it is not finite (a diverged inversion)."""
    n = len(reconstructions)
    finite = np.isfinite(np.asarray(reconstructions).reshape(n, -1)).all(axis=1)
    recon = standardized(np.nan_to_num(reconstructions))
    own = np.einsum("nd,nd->n", recon, standardized(originals))
    return np.where(finite, own, np.nan)
