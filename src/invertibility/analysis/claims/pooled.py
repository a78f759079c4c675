"""Claims that hold for every ``analyses.distances`` entry (Figure 6, Section 4): one primary
row whose seed effect is the mean over the entries of each entry's effect at that seed number
(seed k of every model: independent trainings, so the k-th set is one replicate), and one
exploratory row per (model, layer) entry."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from .evidence import Evidence
from .kind import Row, seed_row

Test = Callable[[pd.Series], tuple[float, float, float]]  # effects -> p, p_reverse, to decide


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
    measured = measured[[*keys, "tp", "identified", "similarity"]]
    pairs = same.merge(measured, on=[*keys, "tp"]).dropna(subset=["nearest_other", "similarity"])
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
) -> list[Row]:
    """The primary row, then one row per (model, layer) entry."""
    pairs = distance_pairs(evidence)
    groups = list(pairs.groupby(["model", "layer"])) if len(pairs) else []
    entries = {f"{model} {layer}": (per_seed(rows), rows) for (model, layer), rows in groups}

    def row(name: str, effects: pd.Series, rows: pd.DataFrame, expansion: bool) -> Row:
        p, p_reverse, decide = test(effects)
        images = rows.groupby(["model", "seed"])["image_id"].nunique() if len(rows) else []
        return seed_row(
            name,
            measure,
            effects,
            p,
            p_reverse,
            n_images=int(images.min()) if len(images) else 0,
            seeds_to_decide=decide,
            detail=detail(rows),
            expansion=expansion,
        )

    if not entries:
        empty = pd.Series(dtype=float)
        return [row(claim["claim"], empty, pairs.iloc[:0] if len(pairs) else pairs, False)]
    together = pd.concat([effects for effects, _ in entries.values()], axis=1)
    # a seed's mean over the entries that have a value for it (an entry where no image is
    # identified at that seed has none)
    pooled = together.mean(axis=1, skipna=True).dropna()
    rows = [row(claim["claim"], pooled, pairs, False)]
    rows[0].detail += f"; mean over {len(entries)} entries ({', '.join(entries)}) per seed number"
    rows += [
        row(f"{claim['claim']} [{name}]", effects, entry, True)
        for name, (effects, entry) in entries.items()
    ]
    return rows
