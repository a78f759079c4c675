"""What every claim kind reads: the invertibility table, its per-seed retention table, and the
norm-distance and similarity tables; a side's rows, its value per seed, and its gates.

A *side* is ``{model, layers, t, tps, seeds}``. Its value per seed is the mean over its layers
and activation steps (default: every tested ``tp`` after ``t``) of the claim's measure: for
``retained``, the seed's ratio of means (:mod:`invertibility.analysis.retention`); for a per-image
measure, the seed's mean over its images (minus the ``tp = t`` control's for a relative measure,
e.g. ``label_kept``). Dataset images only (photos never enter); diverged inversions excluded.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ...core.vocabulary import CONTROLS, CROSS_SEED
from ..measures import MEASURES, MIN_MARGIN
from ..retention import retention_table
from ..stats import t_interval

MAX_DIVERGED = 0.1
MIN_SEEDS, MIN_IMAGES = 3, 10  # evidence below which a verdict stays "inconclusive"
DEFAULT_MEASURE = "retained"


class Evidence:
    def __init__(
        self,
        table: pd.DataFrame,
        distances: pd.DataFrame | None = None,
        similarity: pd.DataFrame | None = None,
    ):
        self.table = table[~table["photo"]]
        self.distances = distances if distances is not None else pd.DataFrame()
        self.similarity = similarity if similarity is not None else pd.DataFrame()

    @functools.cached_property
    def retention(self) -> pd.DataFrame:
        return retention_table(self.table)

    def rows(self, side: dict, tps: list[str] | None = None) -> pd.DataFrame:
        """The side's rows of the invertibility table (``tps`` overrides the side's steps)."""
        return select(self.table, side, tps)

    def seed_values(self, side: dict, measure: str, tps: list[str] | None = None) -> pd.Series:
        """The side's value per seed (index: seed)."""
        if MEASURES[measure].per_image:
            rows = self.rows(side, tps)
            values = rows.groupby(["seed", "image_id"])[measure].mean().groupby("seed").mean()
            if MEASURES[measure].relative:
                control = self.rows(side, [side["t"]])
                base = control.groupby(["seed", "image_id"])[measure].mean().groupby("seed").mean()
                values = values - base.reindex(values.index)
            return values.astype(float).dropna()
        rows = select(self.retention, side, tps)
        return rows.groupby("seed")[measure].mean().dropna()

    def n_images(self, side: dict) -> int:
        """Distinct images behind a side (the fewest any of its seeds has)."""
        per_seed = self.rows(side).groupby("seed")["image_id"].nunique()
        return int(per_seed.min()) if len(per_seed) else 0

    def accuracy(self, side: dict) -> pd.Series:
        """Held-out accuracy of the side's network at its function step, per seed."""
        return self.rows(side, [side["t"]]).groupby("seed")["accuracy_t"].first()

    def floor(self, side: dict) -> float:
        """The side's cross-seed ``retained``: mean over seeds of the layers' mean."""
        values = self.seed_values(side, "retained", [CROSS_SEED])
        return float(values.mean()) if len(values) else np.nan

    def gates(self, side: dict, loss: bool) -> list[str]:
        """Why the data cannot decide on this side (empty if they can): its ``tp = t`` control
        is not above the other-image null; a loss side's cross-seed floor leaves no room for a
        loss; too many inversions diverged."""
        notes = []
        rows = self.rows(side)
        if rows.empty:
            return [f"{describe(side)}: nothing inverted"]
        margin = select(self.retention, side, [side["t"]]).groupby("seed")["margin"].mean()
        mean, low, high = t_interval(margin)
        if not low > 0:
            notes.append(
                f"{short(side)}: the tp = t control is not above the other-image null "
                f"(c_t - c_null {mean:.3f} [{low:.3f}, {high:.3f}] over {len(margin)} seeds): "
                f"the inversion fails before any iteration"
            )
        floor = self.floor(side)
        if loss and floor > 1 - MIN_MARGIN:
            notes.append(
                f"{short(side)}: another seed's activations retain {floor:.2f} of the similarity "
                f"(cross-seed floor above {1 - MIN_MARGIN:.1f}), so a loss across iterations "
                f"cannot show"
            )
        diverged = rows["diverged"].mean()
        if diverged > MAX_DIVERGED:
            notes.append(f"{describe(side)}: {diverged:.0%} of inversions diverged")
        return notes


def select(frame: pd.DataFrame, side: dict, tps: list[str] | None = None) -> pd.DataFrame:
    """A side's rows of a table keyed by (model, seed, layer, t, tp): its model, layers, function
    step, seeds and activation steps (``tps``, else the side's, else every tp after t that every
    seed of the side inverted)."""
    rows = frame[
        (frame["model"] == side["model"])
        & frame["layer"].isin(side["layers"])
        & (frame["t"] == side["t"])
        & frame["seed"].isin(side.get("seeds") or frame["seed"].unique())
    ]
    tps = tps or side.get("tps")
    if tps:
        return rows[rows["tp"].isin(tps)]
    rows = rows[~rows["tp"].isin(CONTROLS) & (rows["p"] > 0)]
    # seed-exchangeable steps only: a figure may invert extra steps for one seed
    seeds_at = rows.groupby(["layer", "tp"])["seed"].transform("nunique")
    return rows[seeds_at == rows["seed"].nunique()]


def short(side: dict) -> str:
    return f"{side['model']}:{'+'.join(side['layers'])} at {side['t']}"


def describe(side: dict) -> str:
    tps = ",".join(side.get("tps") or ["all tp>t"])
    return f"{side['model']}:{'+'.join(side['layers'])} t={side['t']} tp={tps}"


def accuracy_text(evidence: Evidence, sides: list[tuple[str, dict]]) -> str:
    """Each side's held-out accuracy at t (mean over seeds, and the range)."""
    parts = []
    for role, side in sides:
        acc = evidence.accuracy(side)
        if len(acc):
            parts.append(f"{role} {acc.mean():.2f} ({acc.min():.2f}-{acc.max():.2f})")
    return "; ".join(parts)


def fmt(value: float, low: float, high: float) -> str:
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"
