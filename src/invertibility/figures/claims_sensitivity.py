"""The specification curve as a grid: primary claims by specification, each cell coloured by the
claim's verdict under that specification (``invertibility.analysis.claims.sensitivity``)."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ..core import paths
from ..core.atomic import save_figure
from .kind import FigureKind

COLORS = {
    "supported": "#4daf4a",
    "contradicted": "#e41a1c",
    "inconclusive": "#d9d9d9",
    "n/a": "white",
}


def verdict_key(verdict: str) -> str:
    return verdict.removeprefix("exploratory: ").removesuffix(" (unadjusted)")


def cell_text(row) -> str:
    """An applicable cell's adjusted p (the verdict is its colour), or why it has none that
    counts: ``gated`` where a gate voids the verdict, ``no effect`` where none was computed."""
    if row is None or not row["applies"]:
        return "n/a"
    if row["gated"]:
        return "gated"
    p = row["p_adjusted"]
    return f"p {p:.2g}" if np.isfinite(p) else "no effect"


def draw_sensitivity_grid(frame: pd.DataFrame, pdf: str, png: str, title: str | None = None):
    """Rows: the primary claims in the config's order; columns: the specifications in their
    order, the registered one first; colour: the verdict; text: :func:`cell_text`; a black
    frame marks a verdict that differs from the registered one."""
    from matplotlib.patches import Patch, Rectangle

    from .style import page_size, plt

    if frame.empty:  # a config without claims: say so rather than draw an empty grid
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no primary claims in the config", ha="center", va="center")
        save_figure(fig, [pdf, png])
        plt.close(fig)
        return
    claims = frame.sort_values("order")["claim"].drop_duplicates().tolist()
    specs = list(dict.fromkeys(frame["specification"]))
    cells = frame.set_index(["claim", "specification"])
    fig, ax = plt.subplots(
        figsize=page_size(2.2 + 0.95 * len(specs), max(3.6, 1.2 + 0.55 * len(claims))),
        layout="constrained",
    )
    for i, claim in enumerate(claims):
        for j, spec in enumerate(specs):
            row = cells.loc[(claim, spec)] if (claim, spec) in cells.index else None
            verdict = verdict_key(row["verdict"]) if row is not None else "n/a"
            flips = bool(row is not None and row["flips"])
            ax.add_patch(
                Rectangle(
                    (j, i),
                    1,
                    1,
                    facecolor=COLORS.get(verdict, "white"),
                    edgecolor="black" if flips else "0.7",
                    linewidth=2.0 if flips else 0.5,
                )
            )
            ax.text(j + 0.5, i + 0.5, cell_text(row), ha="center", va="center", fontsize=6.5)
    ax.set_xlim(0, len(specs))
    ax.set_ylim(len(claims), 0)
    ax.set_xticks(np.arange(len(specs)) + 0.5, [textwrap.fill(s, 12) for s in specs], fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks(
        np.arange(len(claims)) + 0.5,
        [textwrap.fill(textwrap.shorten(c, 110), 48) for c in claims],
        fontsize=7,
    )
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.axvline(1, color="black", linewidth=1.2)
    ax.legend(
        handles=[Patch(facecolor=c, edgecolor="0.7", label=v) for v, c in COLORS.items()]
        + [
            Patch(
                facecolor="white", edgecolor="black", linewidth=2, label="differs from registered"
            )
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=5,
        fontsize=7,
        frameon=False,
    )
    fig.suptitle(title or "Each claim's verdict under each specification", fontsize=10)
    save_figure(fig, [pdf, png])
    plt.close(fig)


def inputs(plan, name: str) -> dict:
    return {"sensitivity": paths.table("claims_sensitivity")}


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    draw_sensitivity_grid(pd.read_parquet(files["sensitivity"]), pdf, png, spec.get("title"))


KIND = FigureKind(
    name="claims_sensitivity",
    inputs=inputs,
    draw=draw,
    category="Measurements",
    caption="""\
Figure ``{name}`` (kind ``claims_sensitivity``): the specification curve. One row per primary
claim, one column per specification (the registered analysis first; each other column changes one
choice: the line that counts as invertible, the measure, the null, the activation or function
steps, fixed before the verdict-grade run in ``docs/analysis_plan.md``). Colour: the verdict
under that specification, Holm over the whole family (green supported, red contradicted, grey
inconclusive, white: the choice does not apply to the claim); text: the adjusted p ("gated": a
gate voids the verdict); a black frame: a verdict that differs from the registered one.""",
)
