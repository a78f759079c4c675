"""Figures 6 and 7 and the claims forest plot: norm distances (seaborn), invertibility curves
with CI bands against the step and the weight drift, each claim's effect per seed and pooled."""

from __future__ import annotations

import math
import re
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..core.atomic import save_figure  # noqa: E402
from ..core.vocabulary import CONTROLS, CROSS_SEED  # noqa: E402


def finish(fig, pdf: str, png: str) -> None:
    fig.tight_layout()
    save_figure(fig, [pdf, png])
    plt.close(fig)


def _grid(n: int, width: float = 4.2, height: float = 3.2):
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


def draw_norm_distances(
    distances: pd.DataFrame, table: pd.DataFrame, pdf: str, png: str, title: str | None = None
):
    """Per (model, layer), every seed: histogram of ||r^t(x_i) - r^t(x_j)|| over other-class
    pairs with the held-out pool (all and nearest), and the same-image distances
    ||r^t(x_i) - r^tp(x_i)|| at the steps where x_i is still identified, against p."""
    panels = distances[["model", "layer", "t"]].drop_duplicates().to_numpy().tolist()
    fig, axes = _grid(len(panels))
    invertible = table[table["identified"].fillna(False) & ~table["photo"]][
        ["model", "seed", "layer", "t", "tp", "image_id", "p"]
    ]
    for ax, (model, layer, t) in zip(axes, panels, strict=True):
        rows = distances[
            (distances["model"] == model) & (distances["layer"] == layer) & (distances["t"] == t)
        ]
        other = rows[rows["kind"] == "other_class"]
        sns.histplot(
            other["distance"],
            ax=ax,
            color="tab:gray",
            stat="density",
            bins=25,
            label="other class, all pairs",
        )
        sns.histplot(
            other[other["nearest"].fillna(False)]["distance"],
            ax=ax,
            color="tab:blue",
            stat="density",
            bins=15,
            alpha=0.5,
            label="other class, nearest",
        )
        same = rows[(rows["kind"] == "same_image") & (rows["tp"] != t)].merge(
            invertible, on=["model", "seed", "layer", "t", "tp", "image_id"]
        )
        twin = ax.twinx()
        sns.scatterplot(
            x=same["distance"],
            y=same["p"].astype(float),
            ax=twin,
            color="tab:red",
            s=14,
            label="same image, identified at tp",
        )
        twin.set_ylabel("p (steps after t)")
        ax.set_xlabel(f"L2 distance at {layer}")
        ax.set_title(f"{model} {layer}, t = {t}", fontsize=9)
        handles = ax.get_legend_handles_labels()
        twin_handles = twin.get_legend_handles_labels()
        ax.legend(handles[0] + twin_handles[0], handles[1] + twin_handles[1], fontsize=6)
        if twin.get_legend():
            twin.get_legend().remove()
    fig.suptitle(
        title
        or "Norm distances: other-class distances (histograms) vs how far x_i moves while "
        "still invertible (scatter)",
        fontsize=10,
    )
    finish(fig, pdf, png)


def draw_invertibility_curves(
    summary: pd.DataFrame,
    pdf: str,
    png: str,
    measure: str = "retained",
    title: str | None = None,
    models: list[str] | None = None,
):
    """Per (model, t) of ``models`` (default all), dataset images: the measure (mean over seeds,
    Student's t 95% band over seeds) against the optimizer steps p (top row) and against the
    weight drift D_l (bottom row), one line per layer; dashed: the layer's cross-seed floor."""
    summary = summary[summary["images"] == "dataset"]
    if models:
        summary = summary[summary["model"].isin(models)]
    curves = summary[~summary["tp"].isin(CONTROLS)]
    groups = curves[["model", "t"]].drop_duplicates().to_numpy().tolist()
    cols = len(groups)
    fig, axes = plt.subplots(2, cols, figsize=(4.2 * cols, 6.4), squeeze=False)
    palette = sns.color_palette("colorblind")
    for col, (model, t) in enumerate(groups):
        rows = curves[(curves["model"] == model) & (curves["t"] == t)]
        for axis, x_name in ((axes[0, col], "p"), (axes[1, col], "drift")):
            lines = rows.groupby("layer", sort=False)
            for color, (layer, line) in zip(palette, lines, strict=False):
                line = line.sort_values("p")
                x = line[x_name].astype(float)
                axis.plot(x, line[measure], marker="o", ms=3, color=color, label=layer)
                axis.fill_between(
                    x, line[f"{measure}_low"], line[f"{measure}_high"], color=color, alpha=0.2
                )
                floor = summary[
                    (summary["model"] == model)
                    & (summary["layer"] == layer)
                    & (summary["t"] == t)
                    & (summary["tp"] == CROSS_SEED)
                ]
                if not floor.empty:
                    axis.axhline(floor.iloc[0][measure], color=color, ls="--", lw=1)
            axis.set_ylabel(measure)
            if x_name == "p":
                ticks = rows.drop_duplicates("p").sort_values("p")
                axis.set_xticks(ticks["p"].astype(float), ticks["tp"], rotation=45, fontsize=6)
                axis.set_xlabel("activation step tp")
                axis.set_title(f"{model}, function t = {t}", fontsize=9)
                axis.legend(fontsize=7, title="layer (dashed: cross-seed floor)", title_fontsize=6)
            else:
                axis.set_xlabel("weight drift D_l from t to tp")
    fig.suptitle(
        title or "Invertibility across iterations (mean over seeds, 95% CI over seeds)",
        fontsize=10,
    )
    finish(fig, pdf, png)


def short_label(claim: str, width: int = 70) -> str:
    """The claim shortened to ``width``, keeping a trailing ``[model layer]`` whole (it is what
    tells the rows of one per-(model, layer) claim apart)."""
    head, bracket, tail = claim.rpartition(" [")
    if not bracket or not tail.endswith("]"):
        return textwrap.shorten(claim, width)
    suffix = f"[{tail}"
    return f"{textwrap.shorten(head, max(20, width - len(suffix) - 1))} {suffix}"


def why_short(verdict: str, reason: str) -> str:
    """The verdict, and for an inconclusive row a few words on why (the claims table has the
    full reason)."""
    if verdict != "inconclusive":
        return verdict
    for marker, short in (
        ("control is not above", "control fails"),
        ("cross-seed floor", "floor too high"),
        ("diverged", "diverged"),
        ("rests on", "too few seeds/images"),
        ("no effect", "no effect"),
    ):
        if marker in reason:
            return f"inconclusive: {short}"
    seeds = re.search(r"about (\d+) seeds", reason)
    return (
        f"inconclusive: CI reaches the line (~{seeds.group(1)} seeds)"
        if seeds
        else ("inconclusive: CI reaches the line")
    )


def draw_claims_forest(
    claims: pd.DataFrame, by_seed: pd.DataFrame, pdf: str, png: str, title: str | None = None
):
    """One row per claim: the effect with its 95% interval (black: primary, Holm family; grey:
    exploratory) and each seed's effect (dots), the claim's own null or level as a tick, and the
    verdict with, for an inconclusive row, why. Panels per kind (their scales differ); labels
    are wrapped so that none is cut."""
    kinds = list(dict.fromkeys(claims["kind"]))
    wrapped = {c: textwrap.fill(short_label(c, 110), 55) for c in claims["claim"]}
    lines = {c: w.count("\n") + 1 for c, w in wrapped.items()}
    heights = [
        max(1.0, 0.32 * sum(lines[c] for c in claims.loc[claims["kind"] == k, "claim"]) + 0.4)
        for k in kinds
    ]
    fig, axes = plt.subplots(
        len(kinds),
        1,
        figsize=(12, sum(heights) + 1.2),
        squeeze=False,
        height_ratios=heights,
        layout="constrained",
    )
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        rows = claims[claims["kind"] == kind].reset_index(drop=True)
        y = range(len(rows))[::-1]
        for yi, (_, row) in zip(y, rows.iterrows(), strict=True):
            color = "black" if row.get("family", "primary") == "primary" else "0.5"
            if np.isfinite(row["low"]):
                xerr = [[row["value"] - row["low"]], [row["high"] - row["value"]]]
            else:
                xerr = None
            ax.errorbar(row["value"], yi, xerr=xerr, fmt="s", color=color, capsize=3)
            seeds = by_seed[by_seed["claim"] == row["claim"]]
            ax.scatter(seeds["effect"], [yi] * len(seeds), color="tab:orange", s=14, zorder=3)
            line = str(row.get("line", row["null"]))
            bound = float(line[2:]) if line.startswith("+-") else None
            for x in (-bound, bound) if bound is not None else (row["null"],):
                ax.vlines(x, yi - 0.4, yi + 0.4, color="0.4", ls=":")
            ax.annotate(
                why_short(row["verdict"], str(row.get("reason", ""))),
                xy=(1.01, yi),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                va="center",
            )
        ax.set_yticks(list(y), [wrapped[c] for c in rows["claim"]], fontsize=6)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_title(kind, fontsize=8, loc="left")
    axes[-1, 0].set_xlabel(
        "effect (black: primary family, grey: exploratory; 95% CI over seeds; orange: each seed; "
        "dotted: the claim's null or level, or its equivalence bounds)"
    )
    fig.suptitle(title or "The paper's claims, measured", fontsize=10)
    save_figure(fig, [pdf, png])
    plt.close(fig)
