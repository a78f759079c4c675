"""Claims that hold for every ``analyses.distances`` entry (Figure 6, Section 4): one primary
row whose seed effect is the mean over the entries of each entry's effect at that seed number
(seed k of every model: independent trainings, so the k-th set is one replicate; only the seed
numbers with a value in every entry it pools), and one
exploratory row per (model, layer) entry.

Every contributing (model, seed, layer, t) passes the same control gate as a side (a measurable
margin, :mod:`.evidence`): a failed inversion is noise, and noise must not enter a pooled effect.
An entry left with fewer than ``MIN_SEEDS`` seeds is gated on its own row and left out of the
pooled one (which says so)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..measures import MEASURES
from ..stats import ALPHA
from .evidence import MIN_SEEDS, UNIT, Evidence
from .kind import Note, Row, Tested

# per-image measures a distance pair carries (the registry's on_pairs): what counts as
# invertible (identification) and what the norm distance is correlated with (similarity)
PAIR_MEASURES = tuple(name for name, measure in MEASURES.items() if measure.on_pairs)
# (per-seed effects, their rows, the one-sided level of the row's own bounds) -> its test
Test = Callable[[pd.Series, pd.DataFrame, float], Tested]


def gate_rows(
    evidence: Evidence, rows: pd.DataFrame, column: str = "margin_ok"
) -> tuple[pd.DataFrame, list[str]]:
    """The rows of (model, seed, layer, t) that pass the control gate (``column`` of
    :attr:`Evidence.controls_pass`: the measure's own), and notes naming those that do not."""
    if rows.empty:
        return rows, []
    passes = evidence.controls_pass[column]  # per (model, seed, layer, t)
    ok = passes.reindex(pd.MultiIndex.from_frame(rows[UNIT]))
    keep = ok.fillna(False).to_numpy(dtype=bool)
    failed = rows.loc[~keep, UNIT].drop_duplicates()
    notes = (
        [
            "left out, the control's margin not measurable: "
            + ", ".join(f"{r.model} {r.layer} seed {r.seed} at {r.t}" for r in failed.itertuples())
        ]
        if len(failed)
        else []
    )
    return rows[keep], notes


def distance_pairs(evidence: Evidence) -> pd.DataFrame:
    """(seed, image, t, tp > t) rows of every distances entry at the steps every seed of the
    model inverted: same-image distance, nearest other-class distance in the held-out pool, the
    image's identification and similarity."""
    distances, table = evidence.distances, evidence.table
    if distances.empty:
        return pd.DataFrame()
    keys = ["model", "seed", "layer", "t", "image_id"]
    other = distances[(distances["kind"] == "other_class") & distances["nearest"].fillna(False)]
    nearest = other.set_index(keys)["distance"].rename("nearest_other")
    same = distances[(distances["kind"] == "same_image") & (distances["tp"] != distances["t"])]
    same = same.join(nearest, on=keys)
    measured = table[~table["tp"].isin(["other_image", "cross_seed"])]
    measured = measured[[*keys, "tp", "p", *(c for c in PAIR_MEASURES if c in measured)]]
    pairs = same.merge(measured, on=[*keys, "tp"], suffixes=("_distance", ""))
    pairs = pairs.dropna(subset=["nearest_other", "similarity"])
    # seed-exchangeable steps only: a figure may invert extra steps for seed 0
    step = ["model", "layer", "t", "tp"]
    seeds_at = pairs.groupby(step)["seed"].transform("nunique")
    seeds_of = pairs.groupby("model")["seed"].transform("nunique")
    return pairs[seeds_at == seeds_of]


def pooled_rows(
    evidence: Evidence,
    claim: dict,
    per_seed: Callable[[pd.DataFrame], pd.Series],
    test: Test,
    measure: str,
    detail: Callable[[pd.DataFrame], str],
    alpha: float = ALPHA,
) -> list[Row]:
    """The primary row, then one row per (model, layer) entry, each tested by ``test``: the
    pooled row at the claim's ``alpha``, the entries (exploratory) at ``ALPHA``."""
    pairs = distance_pairs(evidence)
    groups = list(pairs.groupby(["model", "layer"])) if len(pairs) else []
    entries, left_out = {}, {}
    for (model, layer), rows in groups:
        gated, notes = gate_rows(evidence, rows)
        effects = per_seed(gated) if len(gated) else pd.Series(dtype=float)
        entries[f"{model} {layer}"] = (effects, gated)
        left_out[f"{model} {layer}"] = notes

    def row(name: str, effects: pd.Series, rows: pd.DataFrame, expansion: bool) -> Row:
        found = test(effects.dropna(), rows, ALPHA if expansion else alpha)
        images = rows.groupby(["model", "seed"])["image_id"].nunique() if len(rows) else []
        return Row(
            claim=name,
            measure=measure,
            test=found.test,
            p=found.p,
            p_reverse=found.p_reverse,
            parts=found.parts,
            effects=effects.dropna().to_dict(),
            n_images=int(images.min()) if len(images) else 0,
            detail=detail(rows) + (f"; {found.text}" if found.text else ""),
            expansion=expansion,
            notes=list(found.notes),
            line=found.line,
            margin=found.margin,
        )

    decided = {
        name: entry for name, entry in entries.items() if entry[0].notna().sum() >= MIN_SEEDS
    }
    if not decided:
        empty = pd.Series(dtype=float)
        rows = [row(claim["claim"], empty, pairs.iloc[:0], False)]
    else:
        together = pd.concat([effects for effects, _ in decided.values()], axis=1)
        # seed k of every entry is one replicate: only seeds with a value in every entry, so
        # that no seed's mean is over a different set of networks (gating depends on the data)
        pooled = together.dropna().mean(axis=1)
        used = pd.concat([entry for _, entry in decided.values()])
        rows = [row(claim["claim"], pooled, used, False)]
        rows[
            0
        ].detail += f"; mean over {len(decided)} entries ({', '.join(decided)}) per seed number"
        partial = sorted(set(together.index) - set(pooled.index))
        if partial:
            rows[
                0
            ].detail += f"; seeds {', '.join(map(str, partial))} left out (no value in every entry)"
    dropped = [name for name in entries if name not in decided]
    if dropped:
        rows[0].detail += f"; left out, fewer than {MIN_SEEDS} seeds pass: {', '.join(dropped)}"
    rows[0].detail += "".join(f"; {note}" for notes in left_out.values() for note in notes)
    for name, (effects, entry) in entries.items():
        expansion = row(f"{claim['claim']} [{name}]", effects, entry, True)
        expansion.detail += "".join(f"; {note}" for note in left_out[name])
        if name in dropped:
            expansion.notes.append(
                Note(
                    f"{name}: {effects.notna().sum()} seeds pass the control gate (a verdict "
                    f"needs {MIN_SEEDS})",
                    "too few seeds" if effects.notna().all() else "control fails",
                )
            )
        rows.append(expansion)
    return rows
