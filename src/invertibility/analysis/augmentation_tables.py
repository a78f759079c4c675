"""The augmentation experiment's tables (docs/outputs.md): every seed's arm evaluations in one
(``augmentation``), and per (model, seed, layer, window) the window's drift, its scale and its
retained similarity on ten training images (``augmentation_windows``:
:func:`invertibility.analysis.retention.window_retention` of the seeds' per-image inversions)."""

from __future__ import annotations

import pandas as pd

from ..core.atomic import atomic_path
from .claims import read_tables
from .retention import window_retention

KEYS = ["model", "seed", "layer", "window"]


def windows_table(drift: pd.DataFrame, similarity: pd.DataFrame, measured_at: dict) -> pd.DataFrame:
    """Each window's drift (as trained), scale and retained similarity, per (model, seed,
    layer); ``measured_at``: window -> its activation steps as the rows write them."""
    retained = window_retention(similarity, measured_at).drop(columns=["t"], errors="ignore")
    return drift.merge(retained, on=KEYS, how="left", validate="one_to_one")


def write_augmentation_tables(
    outcome: list[str],
    drift: list[str],
    similarity: list[str],
    measured_at: dict,
    outcome_table: str,
    windows_table_path: str,
) -> None:
    with atomic_path(outcome_table) as tmp:
        read_tables(outcome).to_parquet(tmp, index=False)
    windows = windows_table(read_tables(drift), read_tables(similarity), measured_at)
    with atomic_path(windows_table_path) as tmp:
        windows.to_parquet(tmp, index=False)
