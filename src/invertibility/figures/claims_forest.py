"""Each claim's effect with its interval (at the level it is judged at), pooled and per training
seed, and its verdict."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ..core import paths
from ..core.atomic import save_figure
from .kind import FigureKind


def short_label(claim: str, width: int = 70) -> str:
    """The claim shortened to ``width``, keeping a trailing ``[model layer]`` whole (it is what
    tells the rows of one per-(model, layer) claim apart)."""
    head, bracket, tail = claim.rpartition(" [")
    if not bracket or not tail.endswith("]"):
        return textwrap.shorten(claim, width)
    suffix = f"[{tail}"
    return f"{textwrap.shorten(head, max(20, width - len(suffix) - 1))} {suffix}"


def why_short(row) -> str:
    """The verdict (an exploratory row's says so: unadjusted), and for an inconclusive row the
    claims table's few words on why, with the seeds that would clear the line at the observed
    spread where that is what it lacks (the table's reason says it in full)."""
    verdict = str(row["verdict"])
    tag = "exploratory: " if verdict.startswith("exploratory") else ""
    plain = verdict.removeprefix("exploratory: ").removesuffix(" (unadjusted)")
    if plain != "inconclusive":
        return f"{tag}{plain}"
    why = row["why_inconclusive"]
    seeds = row["seeds_to_decide"]
    if not row["gated"] and np.isfinite(seeds) and seeds > row["n_seeds"]:
        why += f" (~{seeds:.0f} seeds)"
    return f"{tag}inconclusive: {why}"


def family_color(family: str) -> str:
    """Black for a family's claim (the paper's, an experiment's: judged at Holm's level within
    it), grey for an exploratory row."""
    return "0.5" if family == "exploratory" else "black"


def draw_claims_forest(
    claims: pd.DataFrame, by_seed: pd.DataFrame, pdf: str, png: str, title: str | None = None
):
    """One row per claim: the effect with its interval (black: a pre-registered family's, the
    paper's or an experiment's, at Holm's level within it; grey: exploratory) and each seed's
    effect (dots), the claim's own null or level as a tick, and the verdict with, for an
    inconclusive row, why. Panels per kind (their scales differ); labels are wrapped so that
    none is cut."""
    from .style import page_size, plt

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
        figsize=page_size(12, sum(heights) + 1.2),
        squeeze=False,
        height_ratios=heights,
        layout="constrained",
    )
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        rows = claims[claims["kind"] == kind].reset_index(drop=True)
        y = range(len(rows))[::-1]
        for yi, (_, row) in zip(y, rows.iterrows(), strict=True):
            color = family_color(row.get("family", "primary"))
            if np.isfinite(row["low"]):
                xerr = [[row["value"] - row["low"]], [row["high"] - row["value"]]]
            else:
                xerr = None
            ax.errorbar(row["value"], yi, xerr=xerr, fmt="s", color=color, capsize=3)
            seeds = by_seed[by_seed["claim"] == row["claim"]]
            ax.scatter(seeds["effect"], [yi] * len(seeds), color="tab:orange", s=14, zorder=3)
            margin = row["margin"]
            for x in (-margin, margin) if np.isfinite(margin) else (row["null"],):
                ax.vlines(x, yi - 0.4, yi + 0.4, color="0.4", ls=":")
            ax.annotate(
                why_short(row),
                xy=(1.01, yi),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                va="center",
            )
        ax.set_yticks(list(y), [wrapped[c] for c in rows["claim"]], fontsize=6)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_title(kind, fontsize=8, loc="left")
    axes[-1, 0].set_xlabel(
        "effect (black: a family's claim, CI at Holm's level in its family; grey: exploratory, "
        "95% CI; "
        "orange: each seed; "
        "dotted: the claim's null or level, or its equivalence bounds)"
    )
    fig.suptitle(title or "The paper's claims, measured", fontsize=10)
    save_figure(fig, [pdf, png])
    plt.close(fig)


def inputs(plan, name: str) -> dict:
    return {"claims": paths.claims(), "by_seed": paths.claims_by_seed()}


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    claims, by_seed = pd.read_csv(files["claims"]), pd.read_parquet(files["by_seed"])
    draw_claims_forest(claims, by_seed, pdf, png, title=spec.get("title"))


KIND = FigureKind(
    name="claims_forest",
    inputs=inputs,
    draw=draw,
    category="Measurements",
    caption="""\
Figure ``{name}`` (kind ``claims_forest``): one row per claim of the config and per exploratory
expansion, panels per claim kind: the effect with its interval over training seeds at the level the
claim is judged at (black: a pre-registered family, the paper's or an experiment's, at Holm's
level within the family for each claim, so that it clears the line exactly when the adjusted p
clears 0.025; grey: exploratory, 95%, verdicts unadjusted), each seed's effect (orange), the
claim's null or level (dotted: its line, or its equivalence bounds) and the verdict with, for an
inconclusive row, a few words on why (the claims table has the full reason).""",
)
