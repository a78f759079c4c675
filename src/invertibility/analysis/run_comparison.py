"""How far two runs of the same config are apart, output by output: every inversion file key by
key, and the claims table to a given number of decimals. For a change meant to leave every
output as it was within floating-point tolerance (a faster inner loop, another kernel), where
:mod:`~.stability` asks how far a verdict moves when the arithmetic is ordered differently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core import paths
from ..core.inversion_io import largest_differences, load_inversion

INVERSION_COLUMNS = ["file", "key", "largest", "scale", "relative"]
CLAIM_NUMBERS = ["value", "low", "high", "p_value", "p_adjusted"]


def inversion_differences(first: Path, second: Path) -> pd.DataFrame:
    """One row per (inversion file, key) of two working directories: ``largest`` is
    :func:`~invertibility.core.inversion_io.largest_differences` (the largest absolute
    difference of a float key, infinite where NaN is on one side only; the number of differing
    entries of any other key), ``scale`` the largest magnitude of a float key in the first run's
    file and ``relative`` their ratio. A file that only one run has is one row with key
    ``missing``."""
    roots = [Path(run) / paths.RESULTS / "inversions" for run in (first, second)]
    names = [{p.relative_to(root) for p in root.rglob("*.npz")} for root in roots]
    rows = [(str(name), "missing", np.inf, np.nan, np.inf) for name in names[0] ^ names[1]]
    for name in sorted(names[0] & names[1]):
        ours, theirs = (load_inversion(str(root / name)) for root in roots)
        for key, largest in largest_differences(ours, theirs).items():
            scale = magnitude(ours[key])
            relative = largest / scale if scale > 0 else (0.0 if largest == 0 else np.inf)
            rows.append((str(name), key, largest, scale, relative))
    return pd.DataFrame(rows, columns=INVERSION_COLUMNS)


def magnitude(value) -> float:
    """The largest finite magnitude of a float value or array (0 if none is finite; NaN for a
    value that is not a float)."""
    value = np.asarray(value)
    if value.dtype.kind != "f":
        return np.nan
    finite = np.abs(value[np.isfinite(value)])
    return float(finite.max()) if finite.size else 0.0


def claims_differences(first: pd.DataFrame, second: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """The claims (rows of two claims tables) whose numbers differ once rounded to
    ``decimals``, or whose verdict differs, with both runs' numbers side by side; a claim in
    one table only is a row with a missing side."""
    both = first.merge(second, on="claim", how="outer", suffixes=("_1", "_2"), indicator=True)
    moved = both["_merge"] != "both"
    for column in CLAIM_NUMBERS:
        a, b = both[f"{column}_1"].round(decimals), both[f"{column}_2"].round(decimals)
        moved |= ~((a == b) | (a.isna() & b.isna()))
    moved |= both["verdict_1"] != both["verdict_2"]
    columns = ["claim"] + [f"{c}_{i}" for c in [*CLAIM_NUMBERS, "verdict"] for i in (1, 2)]
    return both.loc[moved, columns].reset_index(drop=True)
