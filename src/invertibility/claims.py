"""The paper's claims as measurements with intervals and verdicts, over training seeds.

A claim is a config entry (``analyses.claims``). A *side* is ``{model, layers, t, tps, seeds}``;
its value per seed and image is the mean of ``measure`` over the side's layers and activation
steps (default: every tested ``tp`` after ``t``), dataset images only (photos never enter),
diverged inversions excluded. Intervals are hierarchical bootstrap 95% CIs (seeds, then images
within each seed); each row reports its seeds, images, and whether every seed's effect has the
sign of the pooled one. Kinds:

* ``compare``: side ``greater`` has a larger ``measure`` than side ``lesser``: the mean paired
  difference over the images both sides inverted, seeds paired by their number. Supported if the
  CI lies above 0, contradicted if below, else inconclusive. The detail also gives the sides'
  weight drift and the comparison at matched drift (``lesser`` at its tested steps whose drift
  is nearest to each of ``greater``'s).
* ``threshold``: side ``above`` has ``measure`` above ``level`` and beats its cross-seed floor
  (the paired difference to the ``cross_seed`` control has a CI above 0); side ``below`` has it
  below ``level``. Supported if all three hold, contradicted if a CI lies wholly on the wrong
  side of ``level``, else inconclusive.
* ``distance`` (Figure 6), one row per ``analyses.distances`` entry, never pooled: among the
  (image, tp) pairs where the image is identified, the fraction whose same-image distance
  ``||r_l^t(x_i) - r_l^tp(x_i)||`` exceeds its nearest other-class distance in the held-out pool.
  Supported if the CI lies above ``level`` (0.5).
* ``norm_predicts`` (Section 4), one row per distances entry: Spearman's rank correlation between
  the same-image relative distance and ``id_score`` over (image, tp > t), pooled over seeds.
  The paper says the norm does *not* predict invertibility: supported if the CI lies inside
  (-``level``, ``level``) (default 0.3), contradicted if it lies wholly beyond it, else
  inconclusive.
* ``predictor`` (Section 4, across networks): Spearman's rank correlation between ``predictor``
  (a column of :mod:`invertibility.predictors`, e.g. ``norm_distance``) and the invertibility
  measure over every inverted (model, seed, layer, t, tp > t), with a run-bootstrap CI; the same
  verdict rule as ``norm_predicts`` ("does not predict": the CI inside (-``level``, ``level``)).
* ``trend`` (e.g. width): ``sides`` with numbers ``x`` (a width, a residual scale); the rank
  correlation between ``x`` and the sides' ``measure`` (each side's mean over its images and
  tps, seeds averaged), with a hierarchical CI (seeds, then each side's images). Supported if the
  CI lies above 0 (``direction: increasing``, default) or below it (``decreasing``),
  contradicted if wholly on the other side.

``compare`` with ``two_sided: true`` (a change in either direction is the finding, e.g. batch
norm): supported if the CI excludes 0, else inconclusive.

A verdict is "inconclusive" whatever its interval when a side's network is near chance at its
function step (held-out accuracy below chance + ``NEAR_CHANCE``: a network that has not learned
is trivially invertible), when it rests on fewer than ``MIN_SEEDS`` seeds or ``MIN_IMAGES``
images, when more than ``MAX_DIVERGED`` of a side's inversions diverged, or
when a side's ``tp = t`` control does not beat its cross-seed floor by ``MIN_MARGIN`` (the
inversion fails even for a perfect target, so losing invertibility across iterations cannot be
measured there); the ``caveat`` column says why.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .atomic import atomic_path
from .predictors import correlation, predictor_units, spearman
from .stats import hierarchical_bootstrap
from .tables import MIN_MARGIN, per_image
from .vocabulary import CONTROLS, CROSS_SEED

CLAIM_COLUMNS = [
    "claim",
    "kind",
    "measure",
    "value",
    "low",
    "high",
    "verdict",
    "caveat",
    "n_seeds",
    "n_images",
    "same_sign_every_seed",
    "detail",
]
NEAR_CHANCE = 0.1  # held-out accuracy below chance + this: the network has not learned
MAX_DIVERGED = 0.1
MIN_SEEDS, MIN_IMAGES = 3, 10  # evidence below which a verdict stays "inconclusive"


def side_rows(table: pd.DataFrame, side: dict, tps: list[str] | None = None) -> pd.DataFrame:
    """The side's rows: its model, layers, function step, seeds, activation steps; no photos."""
    rows = table[
        (table["model"] == side["model"])
        & table["layer"].isin(side["layers"])
        & (table["t"] == side["t"])
        & table["seed"].isin(side.get("seeds") or table["seed"].unique())
        & ~table["photo"]
    ]
    if tps is not None:
        return rows[rows["tp"].isin(tps)]
    if side.get("tps"):
        return rows[rows["tp"].isin(side["tps"])]
    return rows[~rows["tp"].isin(CONTROLS) & (rows["p"] > 0)]


def per_seed(rows: pd.DataFrame, measure: str) -> dict[int, pd.Series]:
    """Per seed: the measure per image, averaged over the rows of that image."""
    return {int(seed): per_image(group, measure).dropna() for seed, group in rows.groupby("seed")}


def caveats(table: pd.DataFrame, sides: list[dict]) -> list[str]:
    notes = []
    chance = 1.0 / max(1, table.loc[~table["photo"], "label"].nunique())
    for side in sides:
        rows = side_rows(table, side)
        if rows.empty:
            continue
        accuracy = rows.groupby("seed")["accuracy_t"].first()
        if (accuracy < chance + NEAR_CHANCE).any():
            notes.append(
                f"{side['model']} at {side['t']} is near chance (held-out accuracy "
                f"{', '.join(f'{a:.2f}' for a in accuracy)}; chance {chance:.2f})"
            )
        diverged = rows["diverged"].mean()
        if diverged > MAX_DIVERGED:
            notes.append(f"{describe(side)}: {diverged:.0%} of inversions diverged")
        # invertibility across iterations is measurable only where a perfect target inverts
        same = side_rows(table, side, tps=[side["t"]])["identified"].astype("float64").mean()
        floor = side_rows(table, side, tps=[CROSS_SEED])["identified"].astype("float64").mean()
        if not same - np.nan_to_num(floor) >= MIN_MARGIN:
            # two ways to fail the margin: the inversion fails even for a perfect target, or
            # another seed's activations are identified too (the layer passes its input on)
            why = (
                "the inversion fails before any iteration"
                if same < 1 - MIN_MARGIN
                else "another seed's activations identify the image as well, so a loss "
                "across iterations cannot show"
            )
            notes.append(
                f"{side['model']}:{'+'.join(side['layers'])} at {side['t']}: the tp = t "
                f"control is identified in {same:.0%} of images, not {MIN_MARGIN:.0%} above "
                f"the cross-seed floor ({np.nan_to_num(floor):.0%}): {why}"
            )
    return notes


def describe(side: dict) -> str:
    tps = ",".join(side.get("tps") or ["all tp>t"])
    return f"{side['model']}:{'+'.join(side['layers'])} t={side['t']} tp={tps}"


def verdict_above(low: float, high: float, level: float) -> str:
    if np.isnan(low):
        return "inconclusive"
    return "supported" if low > level else "contradicted" if high < level else "inconclusive"


def verdict_within(low: float, high: float, level: float) -> str:
    """ "Does not predict": supported if the CI lies inside (-level, level), contradicted if it
    lies wholly beyond it."""
    if np.isnan(low):
        return "inconclusive"
    if -level < low and high < level:
        return "supported"
    return "contradicted" if low > level or high < -level else "inconclusive"


def paired(a: dict[int, pd.Series], b: dict[int, pd.Series]) -> dict[int, np.ndarray]:
    """Per shared seed, the paired differences over the images both have."""
    out = {}
    for seed in sorted(set(a) & set(b)):
        joined = pd.concat([a[seed], b[seed]], axis=1, join="inner").dropna()
        if len(joined):
            out[seed] = (joined.iloc[:, 0] - joined.iloc[:, 1]).to_numpy()
    return out


def summary(groups: dict[int, np.ndarray]) -> dict:
    """Value, CI, seeds, images and sign agreement of a per-seed set of values."""
    value, low, high = hierarchical_bootstrap(list(groups.values()))
    effects = [float(np.mean(v)) for v in groups.values() if len(v)]
    return {
        "value": value,
        "low": low,
        "high": high,
        "n_seeds": len(effects),
        "n_images": int(sum(len(v) for v in groups.values())),
        "same_sign_every_seed": bool(effects)
        and len({np.sign(e) for e in effects} - {0.0}) == 1
        and all(e != 0 for e in effects),
        "per_seed": dict(zip(groups, effects, strict=False)),
    }


def matched_drift_rows(table: pd.DataFrame, greater: pd.DataFrame, side: dict) -> pd.DataFrame:
    """The ``side``'s rows at matched drift: per seed and layer, for each drift the greater side
    reached, the side's tested step (any ``tp > t``) whose drift is nearest to it."""
    candidates = side_rows(table, {**side, "tps": None})
    chosen = []
    for (seed, layer), rows in candidates.groupby(["seed", "layer"]):
        drift_of = rows.groupby("tp")["drift"].mean().dropna()
        targets = greater.loc[greater["seed"] == seed].groupby("tp")["drift"].mean().dropna()
        if not drift_of.empty:
            chosen += [(seed, layer, (drift_of - d).abs().idxmin()) for d in targets]
    if not chosen:
        return candidates.iloc[:0]
    keys = pd.MultiIndex.from_tuples(chosen, names=["seed", "layer", "tp"])
    return candidates[candidates.set_index(["seed", "layer", "tp"]).index.isin(keys)]


def compare(table: pd.DataFrame, claim: dict) -> dict:
    measure = claim.get("measure", "identified")
    rows = {role: side_rows(table, claim[role]) for role in ("greater", "lesser")}
    greater = per_seed(rows["greater"], measure)
    result = summary(paired(greater, per_seed(rows["lesser"], measure)))
    # the same comparison with the lesser side at the steps where its weights drifted as far
    # as the greater side's did: a difference at matched steps may be one of unmatched drift
    matched_rows = matched_drift_rows(table, rows["greater"], claim["lesser"])
    matched = summary(paired(greater, per_seed(matched_rows, measure)))
    drifts = " vs ".join(f"{frame['drift'].mean():.3g}" for frame in rows.values())
    verdict = verdict_above(result["low"], result["high"], 0.0)
    if claim.get("two_sided") and verdict == "contradicted":
        verdict = "supported"  # a change in either direction is the finding
    return {
        **result,
        "measure": f"mean paired difference in {measure}",
        "verdict": verdict,
        "detail": f"{describe(claim['greater'])} minus {describe(claim['lesser'])}; mean weight "
        f"drift D_l {drifts}; at matched drift: {matched['value']:.3f} [{matched['low']:.3f}, "
        f"{matched['high']:.3f}] ({verdict_above(matched['low'], matched['high'], 0.0)}; "
        f"lesser side at {', '.join(sorted(set(matched_rows['tp'])))})",
    }


def threshold(table: pd.DataFrame, claim: dict) -> dict:
    measure, level = claim.get("measure", "identified"), claim.get("level", 0.5)
    above_rows = side_rows(table, claim["above"])
    above = summary({s: v.to_numpy() for s, v in per_seed(above_rows, measure).items()})
    below_groups = per_seed(side_rows(table, claim["below"]), measure)
    below = summary({s: v.to_numpy() for s, v in below_groups.items()})
    floor = per_seed(side_rows(table, claim["above"], tps=[CROSS_SEED]), measure)
    over_floor = summary(paired(per_seed(above_rows, measure), floor))
    if np.isnan(above["low"]) or np.isnan(below["low"]):
        verdict = "inconclusive"
    elif above["low"] > level and below["high"] < level and over_floor["low"] > 0:
        verdict = "supported"
    elif above["high"] < level or below["low"] > level:
        verdict = "contradicted"
    else:
        verdict = "inconclusive"
    return {
        **above,
        "measure": f"{measure}, above side",
        "verdict": verdict,
        "detail": f"above {level}: {describe(claim['above'])}; below {level}: "
        f"{describe(claim['below'])} = {below['value']:.3f} [{below['low']:.3f}, "
        f"{below['high']:.3f}]; above side minus its cross-seed floor: "
        f"{over_floor['value']:.3f} [{over_floor['low']:.3f}, {over_floor['high']:.3f}]",
    }


def distance_pairs(table: pd.DataFrame, distances: pd.DataFrame) -> pd.DataFrame:
    """(seed, image, tp > t) rows of every distances entry: same-image distance, the nearest
    other-class distance in the pool, and the image's identification."""
    keys = ["model", "seed", "layer", "t", "image_id"]
    other = distances[(distances["kind"] == "other_class") & distances["nearest"].fillna(False)]
    nearest = other.set_index(keys)["distance"].rename("nearest_other")
    same = distances[(distances["kind"] == "same_image") & (distances["tp"] != distances["t"])]
    same = same.join(nearest, on=keys)
    measured = table[~table["photo"] & ~table["tp"].isin(CONTROLS)]
    measured = measured[[*keys, "tp", "identified", "id_score"]]
    return same.merge(measured, on=[*keys, "tp"]).dropna(subset=["nearest_other", "id_score"])


def distance(pairs: pd.DataFrame, claim: dict) -> dict:
    level = claim.get("level", 0.5)
    invertible = pairs[pairs["identified"].fillna(False)]
    larger = invertible.assign(larger=invertible["distance"] > invertible["nearest_other"])
    result = summary({seed: v.to_numpy() for seed, v in per_seed(larger, "larger").items()})
    return {
        **result,
        "measure": "fraction of identified (image, tp) whose same-image distance exceeds the "
        "nearest other-class distance in the held-out pool",
        "verdict": verdict_above(result["low"], result["high"], level),
        "detail": f"{len(invertible)} identified (image, tp) pairs of {len(pairs)}",
    }


def norm_predicts(pairs: pd.DataFrame, claim: dict) -> dict:
    """Spearman(relative distance, id_score), bootstrap over seeds and images (each resample
    recomputes the correlation over the drawn images' (image, tp) pairs)."""
    level = claim.get("level", 0.3)
    rng = np.random.default_rng(0)
    by_seed = [rows for _, rows in pairs.groupby("seed")]

    def rho(frames: list[pd.DataFrame]) -> float:
        both = pd.concat(frames)
        if both["relative_distance"].nunique() < 2 or both["id_score"].nunique() < 2:
            return np.nan
        return float(spearmanr(both["relative_distance"], both["id_score"]).statistic)

    estimate = rho(by_seed) if by_seed else np.nan
    draws = []
    for _ in range(400 if by_seed else 0):  # a loop: each draw recomputes a rank correlation
        frames = []
        for s in rng.integers(0, len(by_seed), len(by_seed)):
            rows = by_seed[s]
            ids = rows["image_id"].unique()
            chosen = rng.choice(ids, len(ids))
            frames.append(rows.set_index("image_id").loc[chosen].reset_index())
        draws.append(rho(frames))
    low, high = np.nanquantile(draws, [0.025, 0.975]) if draws else (np.nan, np.nan)
    verdict = verdict_within(low, high, level)
    return {
        "value": estimate,
        "low": float(low),
        "high": float(high),
        "n_seeds": len(by_seed),
        "n_images": int(pairs.groupby("seed")["image_id"].nunique().sum()),
        "same_sign_every_seed": None,
        "per_seed": {int(s): rho([r]) for s, r in pairs.groupby("seed")},
        "measure": "Spearman rank correlation of relative same-image distance and id_score",
        "verdict": verdict,
        "detail": f"|rho| < {level} counts as no prediction; {len(pairs)} (image, tp) pairs",
    }


def predictor(units: pd.DataFrame, claim: dict) -> dict:
    level = claim.get("level", 0.3)
    result = correlation(units, claim["predictor"])
    used = units[np.isfinite(units[claim["predictor"]].to_numpy(float))]
    return {
        "value": result["rho"],
        "low": result["low"],
        "high": result["high"],
        "n_seeds": int(used.groupby("model")["seed"].nunique().min()) if len(used) else 0,
        "n_images": int(used["n_images"].min()) if len(used) else 0,
        "same_sign_every_seed": None,
        "per_seed": {},
        "measure": f"Spearman rank correlation of {claim['predictor']} and the mean "
        f"{claim.get('measure', 'identified')} over (model, seed, layer, t, tp > t)",
        "verdict": verdict_within(result["low"], result["high"], level),
        "detail": f"|rho| < {level} counts as no prediction; {result['n_units']} units from "
        f"{result['n_runs']} training runs of {result['n_models']} models (CI: runs resampled); "
        f"within (model, layer): rho {result['rho_within']:.2f} [{result['low_within']:.2f}, "
        f"{result['high_within']:.2f}] over {result['n_strata']} strata",
    }


def trend(table: pd.DataFrame, claim: dict, n_resamples: int = 1000) -> dict:
    """Spearman(x, side means), hierarchical bootstrap: seeds (shared by the sides, paired by
    number), then each side's images within each drawn seed."""
    measure = claim.get("measure", "identified")
    x = np.asarray(claim["x"], dtype=float)
    sides = [per_seed(side_rows(table, side), measure) for side in claim["sides"]]
    seeds = sorted(set.intersection(*(set(side) for side in sides)))
    values = [[side[seed].to_numpy() for seed in seeds] for side in sides]  # [side][seed][n]

    def rho(means: np.ndarray) -> float:
        return spearman(x, means)

    def side_means(drawn_seeds, draw_images) -> np.ndarray:
        return np.array([np.mean([draw_images(v[s]) for s in drawn_seeds]) for v in values])

    if not seeds or any(len(v[s]) == 0 for v in values for s in range(len(seeds))):
        estimate, low, high, per = np.nan, np.nan, np.nan, {}
    else:
        everything = range(len(seeds))
        estimate = rho(side_means(everything, np.mean))
        rng = np.random.default_rng(0)
        draws = [
            rho(
                side_means(
                    rng.integers(0, len(seeds), len(seeds)),
                    lambda v: v[rng.integers(0, len(v), len(v))].mean(),
                )
            )
            for _ in range(n_resamples)
        ]
        low, high = (
            np.nanquantile(draws, [0.025, 0.975]) if not np.isnan(draws).all() else (np.nan,) * 2
        )
        per = {seed: rho(side_means([i], np.mean)) for i, seed in enumerate(seeds)}
    sign = -1.0 if claim.get("direction", "increasing") == "decreasing" else 1.0
    verdict = verdict_above(*sorted((sign * low, sign * high)), 0.0)
    means = ", ".join(
        f"{xi:g}: {np.mean([v.mean() for v in side]) if side else np.nan:.3f}"
        for xi, side in zip(x, values, strict=True)
    )
    effects = [e for e in per.values() if np.isfinite(e)]
    return {
        "value": estimate,
        "low": float(low),
        "high": float(high),
        "n_seeds": len(seeds),
        "n_images": int(min((sum(len(v) for v in side) for side in values), default=0)),
        "same_sign_every_seed": bool(effects) and len({np.sign(e) for e in effects}) == 1,
        "per_seed": per,
        "measure": f"Spearman rank correlation of x and the mean {measure}",
        "verdict": verdict,
        "detail": f"{claim.get('direction', 'increasing')} expected; mean {measure} by x: "
        f"{means}; sides: {'; '.join(describe(side) for side in claim['sides'])}",
    }


def evaluate_claims(
    claims: list[dict],
    table: pd.DataFrame,
    distances: pd.DataFrame,
    similarity: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims table and the per-seed effects behind it (the forest plot's rows);
    ``similarity``: the diagnostics jobs' tables (for ``predictor`` claims)."""
    records, seeds = [], []
    # the (image, tp) pairs of the distance-based claims: joined once, whichever asks first
    pairs = functools.cache(
        lambda: distance_pairs(table, distances) if len(distances) else pd.DataFrame()
    )
    for claim in claims:
        kind = claim["kind"]
        if kind in ("distance", "norm_predicts"):
            groups = list(pairs().groupby(["model", "layer"])) if len(pairs()) else []
            items = [
                (f"{claim['claim']} [{model} {layer}]", [], rows) for (model, layer), rows in groups
            ]
        elif kind == "predictor":
            units = predictor_units(table, similarity, claim.get("measure", "identified"))
            items = [(claim["claim"], [], units)]
        elif kind == "trend":
            items = [(claim["claim"], claim["sides"], None)]
        else:
            roles = ("greater", "lesser") if kind == "compare" else ("above", "below")
            items = [(claim["claim"], [claim[r] for r in roles], None)]
        for name, sides, rows in items:
            if kind == "compare":
                result = compare(table, claim)
            elif kind == "threshold":
                result = threshold(table, claim)
            elif kind == "distance":
                result = distance(rows, claim)
            elif kind == "predictor":
                result = predictor(rows, claim)
            elif kind == "trend":
                result = trend(table, claim)
            else:
                result = norm_predicts(rows, claim)
            notes = list(dict.fromkeys(caveats(table, sides)))
            if result["n_seeds"] < MIN_SEEDS or result["n_images"] < MIN_IMAGES:
                notes.append(
                    f"rests on {result['n_seeds']} seeds and {result['n_images']} images "
                    f"(a verdict needs {MIN_SEEDS} seeds and {MIN_IMAGES} images)"
                )
            if notes and result["verdict"] != "inconclusive":
                result["verdict"] = "inconclusive"
            per_seed_effects = result.pop("per_seed")
            records.append({"claim": name, "kind": kind, "caveat": "; ".join(notes), **result})
            seeds += [
                {"claim": name, "seed": seed, "effect": effect}
                for seed, effect in per_seed_effects.items()
            ]
    return (
        pd.DataFrame(records, columns=CLAIM_COLUMNS),
        pd.DataFrame(seeds, columns=["claim", "seed", "effect"]),
    )


def read_tables(paths: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(path) for path in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_claims(
    claims: list[dict],
    table: str,
    distances: list[str],
    similarity: list[str],
    output: str,
    by_seed: str,
) -> None:
    """Evaluate ``claims`` on the invertibility, norm-distance and similarity tables: the claims
    CSV and the per-seed effects (parquet)."""
    result, seeds = evaluate_claims(
        claims, pd.read_parquet(table), read_tables(distances), read_tables(similarity)
    )
    with atomic_path(output) as tmp:
        result.to_csv(tmp, index=False, float_format="%.4g")
    with atomic_path(by_seed) as tmp:
        seeds.to_parquet(tmp, index=False)
