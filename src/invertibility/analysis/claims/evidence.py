"""What every claim kind reads: the invertibility table, its per-seed retention table, and the
norm-distance and similarity tables; a side's rows, its value per seed, and its gates.

A *side* is ``{model, layers, t, tps, seeds}``. Its value per seed is the mean over its layers
and activation steps (default: every tested ``tp`` after ``t``) of the claim's measure: for a
per-seed measure (``retained``), the seed's value from its image means
(:mod:`invertibility.analysis.retention`); for a per-image measure, the seed's mean over its
images (minus the ``tp = t`` control's for a relative measure, e.g. ``label_kept``). Dataset
images only (photos never enter); diverged inversions excluded.

*Gates per (seed, layer).* A seed enters a side only where every one of the side's layers passes
the measure's control at ``t``: a measurable margin (``c_t - c_null`` at least
:data:`~invertibility.analysis.measures.MIN_MARGIN` and
:data:`~invertibility.analysis.measures.MIN_MARGIN_Z` standard errors over images) for the
similarity measures; for ``label_kept``, the ``tp = t`` control keeps the label above chance (a
one-sided binomial test at ``ALPHA`` over the seed's images; chance from the labels of the model's
own images: :meth:`Evidence.label_chance`). A side left with fewer than
:data:`MIN_SEEDS` seeds is gated, with the layers and seeds that failed.

One module, past 300 lines, because a side's selection, its value per seed and its gates are one
definition read through one cache (:class:`Evidence`): split, a claim kind could take its seeds
from one file and its gates from another.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from ...core.vocabulary import CONTROLS, CROSS_SEED, canonical
from ..measures import FLOOR_ROOM, MEASURES, MIN_MARGIN, MIN_MARGIN_Z
from ..retention import retention_table
from ..stats import ALPHA
from .kind import Note

MAX_DIVERGED = 0.1
MIN_SEEDS, MIN_IMAGES = 3, 10  # evidence below which a verdict stays "inconclusive"
DEFAULT_MEASURE = "retained"
UNIT = ["model", "seed", "layer", "t"]


class Evidence:
    """The tables a claim reads: the invertibility ``table`` (empty, without columns, for a
    config that inverts nothing: it is given the table's columns), the norm-distance and
    similarity tables, and ``experiments``, an experiment family's tables by name (e.g.
    ``augmentation``, ``augmentation_windows``; :meth:`experiment`)."""

    def __init__(
        self,
        table: pd.DataFrame,
        distances: pd.DataFrame | None = None,
        similarity: pd.DataFrame | None = None,
        experiments: Mapping[str, pd.DataFrame] | None = None,
    ):
        if len(table.columns) == 0:
            table = empty_table()
        self.table = table[~table["photo"]]
        self.distances = distances if distances is not None else pd.DataFrame()
        self.similarity = similarity if similarity is not None else pd.DataFrame()
        self.experiments = dict(experiments or {})
        self._memo: dict = {}

    def experiment(self, name: str) -> pd.DataFrame:
        """An experiment family's table (empty where the run has none)."""
        found = self.experiments.get(name)
        return found if found is not None else pd.DataFrame()

    def remembered(self, key: tuple, compute: Callable[[], object]):
        """``compute()``, once per evidence and ``key`` (a kind's own reading of a table, which
        its claims share)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @functools.cached_property
    def retention(self) -> pd.DataFrame:
        return retention_table(self.table)

    @functools.cached_property
    def _by_model(self) -> dict[str, dict[str, pd.DataFrame]]:
        """Each model's rows of the table and of the retention table (a side reads one model)."""
        return {
            "table": dict(list(self.table.groupby("model", sort=False))),
            "retention": dict(list(self.retention.groupby("model", sort=False))),
        }

    def _of(self, which: str, side: dict) -> pd.DataFrame:
        frame = self._by_model[which].get(side["model"])
        if frame is None:  # a model with no rows: the table's columns, no rows
            frame = (self.table if which == "table" else self.retention).iloc[:0]
        return frame

    def _selected(self, which: str, side: dict, tps: list[str] | None) -> pd.DataFrame:
        """A side's rows (:meth:`Columns.select` on its model's rows), remembered: a claim reads
        its sides many times."""
        key = (which, canonical(side), canonical(tps))
        if key not in self._memo:
            frame = self._of(which, side)
            if (which, side["model"]) not in self._memo:
                self._memo[(which, side["model"])] = Columns(frame)
            self._memo[key] = frame[self._memo[(which, side["model"])].select(side, tps)]
        return self._memo[key]

    def rows(self, side: dict, tps: list[str] | None = None) -> pd.DataFrame:
        """The side's rows of the invertibility table (``tps`` overrides the side's steps)."""
        return self._selected("table", side, tps)

    def retention_rows(self, side: dict, tps: list[str] | None = None) -> pd.DataFrame:
        return self._selected("retention", side, tps)

    @functools.cached_property
    def controls_pass(self) -> pd.DataFrame:
        """Per (model, seed, layer, t): whether the control passes each gate (``margin``,
        ``identity``, ``label``) and what it read, for the notes."""
        at_t = self.retention[self.retention["tp"] == self.retention["t"]]
        frame = at_t.set_index(UNIT)[
            ["margin", "margin_se", "measurable", "identity_measurable"]
        ].copy()
        frame = frame.rename(
            columns={"measurable": "margin_ok", "identity_measurable": "identity_ok"}
        )
        control = self.table[self.table["tp"] == self.table["t"]]
        if "label_kept" in control and control["label_kept"].notna().any():
            kept = control.assign(k=control["label_kept"].astype("float64"))
            per_seed = kept.groupby(UNIT)["k"].agg(["sum", "count"])
            chance = self.label_chance().reindex(per_seed.index.get_level_values("model"))
            p = scipy_stats.binom.sf(per_seed["sum"] - 1, per_seed["count"], chance.to_numpy())
            frame = frame.join(
                pd.DataFrame(
                    {"label_rate": per_seed["sum"] / per_seed["count"], "label_ok": p < ALPHA},
                    index=per_seed.index,
                )
            )
        else:
            frame["label_rate"], frame["label_ok"] = np.nan, False
        frame["label_ok"] = frame["label_ok"].fillna(False).astype(bool)
        return frame

    def label_chance(self) -> pd.Series:
        """Per model, the label gate's chance: one over the labels among its images (its own
        dataset's held-out pool; never more labels than the dataset has classes, so the gate is
        never easier than chance), not over every dataset's labels in the table."""
        return 1.0 / self.table.groupby("model")["label"].nunique().clip(lower=2)

    @functools.cached_property
    def _controls_by_model(self) -> dict[str, pd.DataFrame]:
        return dict(list(self.controls_pass.reset_index().groupby("model", sort=False)))

    def control_rows(self, side: dict) -> pd.DataFrame:
        """The side's (seed, layer) rows of :attr:`controls_pass`."""
        rows = self._controls_by_model.get(side["model"])
        if rows is None:
            return self.controls_pass.reset_index().iloc[:0]
        rows = rows[rows["layer"].isin(side["layers"]) & (rows["t"] == side["t"])]
        return rows[rows["seed"].isin(side["seeds"])] if side.get("seeds") else rows

    def passing(self, side: dict, measure: str) -> pd.Series:
        """Per seed: every one of the side's layers passes the measure's control gate."""
        key = ("passing", canonical(side), gate_column(measure))
        if key not in self._memo:
            rows = self.control_rows(side)
            grouped = rows.groupby("seed")[gate_column(measure)]
            self._memo[key] = grouped.all() & (grouped.size() == len(side["layers"]))
        return self._memo[key]

    def seed_values(self, side: dict, measure: str, tps: list[str] | None = None) -> pd.Series:
        """The side's value per seed (index: seed), over the seeds that pass its gate at every
        layer; a seed missing any of its layers' steps has none."""
        key = ("values", canonical(side), measure, canonical(tps))
        if key not in self._memo:
            self._memo[key] = self._seed_values(side, measure, tps)
        return self._memo[key]

    def _seed_values(self, side: dict, measure: str, tps: list[str] | None) -> pd.Series:
        info = MEASURES[measure]
        rows = self.rows(side, tps) if info.per_image else self.retention_rows(side, tps)
        if info.per_image:
            values = image_then_seed_mean(rows, measure)
            if info.relative:
                base = image_then_seed_mean(self.rows(side, [side["t"]]), measure)
                values = values - base.reindex(values.index)
        else:
            values = seed_mean(rows["seed"].to_numpy(), rows[measure].to_numpy(dtype=float))
        ok = self.passing(side, measure) & complete_seeds(rows, side, tps)
        values = values.astype(float)
        return values[values.index.isin(ok[ok].index)].dropna()

    def resolution(self, side: dict, measure: str) -> float:
        """The smallest step of a seed's value: 1 / images for a fraction of images, else 0."""
        if MEASURES[measure].per_image and self.table[measure].dtype.name in ("boolean", "bool"):
            return 1.0 / max(self.n_images(side), 1)
        return 0.0

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

    def gates(self, side: dict, loss: bool, measure: str = DEFAULT_MEASURE) -> list[str]:
        """Why the data cannot decide on this side (empty if they can): fewer than
        ``MIN_SEEDS`` seeds pass the measure's control at every layer; a loss side's cross-seed
        floor leaves no room for a loss; too many inversions diverged."""
        rows = self.rows(side)
        if rows.empty:
            return [Note(f"{describe(side)}: nothing inverted", "nothing inverted")]
        notes = []
        passing = self.passing(side, measure)
        n_ok = int(passing.sum())
        if n_ok < MIN_SEEDS:
            notes.append(
                Note(
                    f"{short(side)}: {n_ok} of {len(passing)} seeds pass the "
                    f"{gate_text(measure)} at every layer (a verdict needs {MIN_SEEDS}); "
                    f"{self.failures(side, measure)}",
                    "control fails" if n_ok < len(passing) else "too few seeds",
                )
            )
        floor = self.floor(side)
        if loss and MEASURES[measure].margin_gated and n_ok and not np.isfinite(floor):
            notes.append(
                Note(
                    f"{short(side)}: no cross-seed floor was measured (analyses.cross_seed), "
                    f"so whether a loss across iterations can show is unknown",
                    "no floor measured",
                )
            )
        if loss and MEASURES[measure].margin_gated and floor > 1 - FLOOR_ROOM:
            notes.append(
                Note(
                    f"{short(side)}: another seed's activations retain {floor:.2f} of the "
                    f"similarity (cross-seed floor above {1 - FLOOR_ROOM:.1f}), so a loss across "
                    f"iterations cannot show",
                    "floor too high",
                )
            )
        diverged = rows["diverged"].mean()
        if diverged > MAX_DIVERGED:
            text = f"{describe(side)}: {diverged:.0%} of inversions diverged"
            notes.append(Note(text, "diverged"))
        return notes

    def failures(self, side: dict, measure: str) -> str:
        """Which (layer, seed) failed the gate, and what its control read."""
        rows = self.control_rows(side)
        failed = rows[~rows[gate_column(measure)]]
        if failed.empty:
            layers = rows.groupby("seed")["layer"].nunique()
            short_of = layers.index[layers < len(side["layers"])].tolist()
            if short_of:
                return f"seeds {short_of} did not invert every layer"
            return f"all {len(layers)} seeds inverted pass" if len(layers) else "nothing inverted"
        if MEASURES[measure].gate == "label":
            parts = [
                f"{r.layer} seed {r.seed} (label kept {r.label_rate:.2f})"
                for r in failed.itertuples()
            ]
        else:
            parts = [
                f"{r.layer} seed {r.seed} (c_t - c_null {r.margin:.3f}, SE {r.margin_se:.3f})"
                for r in failed.itertuples()
            ]
        return "failed: " + ", ".join(parts)


def empty_table() -> pd.DataFrame:
    """The invertibility table with no rows (its typed columns)."""
    from ..tables import table_columns

    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in table_columns().items()})


def complete_seeds(rows: pd.DataFrame, side: dict, tps: list[str] | None) -> pd.Series:
    """Per seed: it has every (layer, tp) the side names (``tps``, else the side's), so that a
    seed missing a step is not averaged over the others (True for every seed where the side
    names no steps: then only steps every seed inverted are selected)."""
    named = tps or side.get("tps")
    seeds = rows.groupby("seed").size()
    if not named or rows.empty:
        return seeds > -1
    pairs = rows.drop_duplicates(["seed", "layer", "tp"]).groupby("seed").size()
    return pairs.reindex(seeds.index, fill_value=0) == len(side["layers"]) * len(set(named))


def seed_mean(seeds: np.ndarray, values: np.ndarray, strict: bool = True) -> pd.Series:
    """The mean of ``values`` per seed; ``strict``: NaN for a seed with any NaN value (a seed
    missing one of its layers has no value for the side)."""
    if len(seeds) == 0:
        return pd.Series(dtype=float)
    unique, index = np.unique(seeds, return_inverse=True)
    finite = np.isfinite(values)
    total = np.bincount(index, weights=np.where(finite, values, 0.0), minlength=len(unique))
    count = np.bincount(index, weights=finite.astype(float), minlength=len(unique))
    size = np.bincount(index, minlength=len(unique))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    if strict:
        mean[count < size] = np.nan
    return pd.Series(mean, index=pd.Index(unique, name="seed"))


def image_then_seed_mean(rows: pd.DataFrame, measure: str) -> pd.Series:
    """Per seed, the mean over its images of each image's mean over its rows (NaN rows, diverged,
    left out)."""
    if rows.empty:
        return pd.Series(dtype=float)
    values = rows[measure].to_numpy(dtype=float, na_value=np.nan)
    pairs = pd.MultiIndex.from_arrays([rows["seed"].to_numpy(), rows["image_id"].to_numpy()])
    codes, unique = pd.factorize(pairs)
    per_image = seed_mean(codes, values, strict=False)  # keyed by the (seed, image) code
    image_seeds = np.asarray([unique[code][0] for code in per_image.index])
    return seed_mean(image_seeds, per_image.to_numpy(), strict=False)


def gate_column(measure: str) -> str:
    return MEASURES[measure].gate_column


def gate_text(measure: str) -> str:
    if MEASURES[measure].gate == "label":
        return "control (tp = t keeps the label above chance)"
    return (
        f"control (a measurable margin: c_t - c_null >= {MIN_MARGIN:g} and >= {MIN_MARGIN_Z:g} "
        f"standard errors over images)"
    )


class Columns:
    """A table's key columns as numpy arrays, read once per model, to select sides' rows."""

    def __init__(self, frame: pd.DataFrame):
        self.model = frame["model"].to_numpy(dtype=object)
        self.layer = frame["layer"].to_numpy(dtype=object)
        self.t = frame["t"].to_numpy(dtype=object)
        self.tp = frame["tp"].to_numpy(dtype=object)
        self.seed = frame["seed"].to_numpy()
        self.p = frame["p"].to_numpy(dtype=float, na_value=np.nan)

    def select(self, side: dict, tps: list[str] | None = None) -> np.ndarray:
        """A side's rows of a table keyed by (model, seed, layer, t, tp), as a mask: its model,
        layers, function step, seeds and activation steps (``tps``, else the side's, else every
        tp after t that every seed of the side inverted)."""
        chosen = (
            (self.model == side["model"])
            & np.isin(self.layer, side["layers"])
            & (self.t == side["t"])
        )
        if side.get("seeds"):
            chosen &= np.isin(self.seed, side["seeds"])
        tps = tps or side.get("tps")
        if tps:
            return chosen & np.isin(self.tp, tps)
        chosen &= ~np.isin(self.tp, CONTROLS) & (self.p > 0)
        # seed-exchangeable steps only: a figure may invert extra steps for one seed
        where = np.flatnonzero(chosen)
        seeds_of: dict[tuple, set] = {}
        for layer, tp, seed in zip(
            self.layer[where], self.tp[where], self.seed[where], strict=True
        ):
            seeds_of.setdefault((layer, tp), set()).add(seed)
        n_seeds = len(set(self.seed[where]))
        for k, (layer, tp) in zip(
            where, zip(self.layer[where], self.tp[where], strict=True), strict=True
        ):
            if len(seeds_of[(layer, tp)]) != n_seeds:
                chosen[k] = False
        return chosen


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
