"""How far two runs of the same config are apart, output by output: every inversion file key by
key, every table column by column, every figure pixel by pixel, the tensors two runs'
checkpoints both hold, and the claims table to a given number of decimals. For a change meant
to leave every output as it was (a faster inner loop, another kernel, smaller checkpoints),
where :mod:`~.stability` asks how far a verdict moves when the arithmetic is ordered
differently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core import paths
from ..core.inversion_io import array_difference, largest_differences, load_inversion

INVERSION_COLUMNS = ["file", "key", "largest", "scale", "relative"]
TABLE_SUFFIXES = (".parquet", ".csv")
CLAIM_NUMBERS = ["value", "low", "high", "p_value", "p_adjusted"]


def inversion_differences(first: Path, second: Path) -> pd.DataFrame:
    """One row per (inversion file, key) of two working directories: ``largest`` is
    :func:`~invertibility.core.inversion_io.largest_differences` (the largest absolute
    difference of a float key, infinite where NaN is on one side only; the number of differing
    entries of any other key), ``scale`` the largest magnitude of a float key in the first run's
    file and ``relative`` their ratio. A file that only one run has is one row with key
    ``missing``."""
    roots, names, rows = _files(first, second, "inversions", (".npz",))
    for name in names:
        ours, theirs = (load_inversion(str(root / name)) for root in roots)
        for key, largest in largest_differences(ours, theirs).items():
            rows.append(_row(name, key, largest, ours[key]))
    return pd.DataFrame(rows, columns=INVERSION_COLUMNS)


def _files(first: Path, second: Path, folder: str, suffixes: tuple[str, ...]):
    """The files under ``results/{folder}`` of both runs (relative names), and one ``missing``
    row per file that only one run has."""
    roots = [Path(run) / paths.RESULTS / folder for run in (first, second)]
    names = [
        {p.relative_to(root) for p in root.rglob("*") if p.suffix in suffixes} for root in roots
    ]
    missing = [(str(name), "missing", np.inf, np.nan, np.inf) for name in names[0] ^ names[1]]
    return roots, sorted(names[0] & names[1]), missing


def _row(name, key: str, largest: float, reference) -> tuple:
    scale = magnitude(reference)
    relative = largest / scale if scale > 0 else (0.0 if largest == 0 else np.inf)
    return (str(name), key, largest, scale, relative)


def table_differences(first: Path, second: Path) -> pd.DataFrame:
    """One row per (table, column) under ``results/tables`` (parquet and CSV), as
    :func:`inversion_differences` gives per key: rows compared in the order written."""
    roots, names, rows = _files(first, second, "tables", TABLE_SUFFIXES)
    for name in names:
        ours, theirs = (
            pd.read_parquet(root / name) if name.suffix == ".parquet" else pd.read_csv(root / name)
            for root in roots
        )
        for column in sorted(set(ours) | set(theirs)):
            if column not in ours or column not in theirs:
                rows.append((str(name), column, np.inf, np.nan, np.inf))
                continue
            a, b = (frame[column].to_numpy() for frame in (ours, theirs))
            # both as numbers where both are numbers, else both as text
            kind = float if a.dtype.kind in "biuf" and b.dtype.kind in "biuf" else str
            a, b = a.astype(kind), b.astype(kind)
            rows.append(_row(name, column, array_difference(a, b), a))
    return pd.DataFrame(rows, columns=INVERSION_COLUMNS)


def figure_differences(first: Path, second: Path) -> pd.DataFrame:
    """One row per PNG figure: ``largest`` is the number of pixel values that differ."""
    from PIL import Image

    roots, names, rows = _files(first, second, "figures", (".png",))
    for name in names:
        a, b = (np.asarray(Image.open(root / name)) for root in roots)
        differing = array_difference(a, b)
        rows.append((str(name), "pixels", differing, np.nan, differing))
    return pd.DataFrame(rows, columns=INVERSION_COLUMNS)


def checkpoint_differences(first: Path, second: Path) -> pd.DataFrame:
    """One row per checkpoint and tensor the two runs both hold (a checkpoint may hold fewer
    tensors in one run): the largest absolute difference; a tensor one run lacks is not
    compared (the row ``absent`` counts them)."""
    from safetensors.numpy import load_file

    roots, names, rows = _files(first, second, "checkpoints", (".safetensors",))
    for name in names:
        ours, theirs = (load_file(str(root / name)) for root in roots)
        for key in sorted(set(ours) & set(theirs)):
            rows.append(_row(name, key, array_difference(ours[key], theirs[key]), ours[key]))
        rows.append((str(name), "absent", float(len(set(ours) ^ set(theirs))), np.nan, np.nan))
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
