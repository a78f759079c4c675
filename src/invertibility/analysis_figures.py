"""Figures 6 and 7: norm distances (seaborn) and invertibility curves with CI bands."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .atomic import save_figure  # noqa: E402
from .vocabulary import OTHER_IMAGE  # noqa: E402


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
    """Per (model, layer): histogram of ||r^t(x_i) - r^t(x_j)|| over other-class pairs (all and
    nearest), and the same-image distances ||r^t(x_i) - r^tp(x_i)|| at the steps where x_i is
    still invertible, as a scatter against p."""
    panels = distances[["model", "layer", "t"]].drop_duplicates().to_numpy().tolist()
    fig, axes = _grid(len(panels))
    invertible = table[table["invertible"].fillna(False)][
        ["model", "layer", "t", "tp", "image_id", "p"]
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
            invertible, on=["model", "layer", "t", "tp", "image_id"]
        )
        twin = ax.twinx()
        sns.scatterplot(
            x=same["distance"],
            y=same["p"].astype(float),
            ax=twin,
            color="tab:red",
            s=14,
            label="same image, invertible tp",
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
    summary: pd.DataFrame, pdf: str, png: str, measure: str = "ssim", title: str | None = None
):
    """Per (model, t): mean SSIM(x*, x_i) against p, one line per layer with its bootstrap 95%
    band; the tp = t control is the point at p = 0, the other-image control a dashed line."""
    curves = summary[summary["tp"] != OTHER_IMAGE]
    groups = curves[["model", "t"]].drop_duplicates().to_numpy().tolist()
    fig, axes = _grid(len(groups))
    palette = sns.color_palette("colorblind")
    for ax, (model, t) in zip(axes, groups, strict=True):
        rows = curves[(curves["model"] == model) & (curves["t"] == t)]
        for color, (layer, line) in zip(palette, rows.groupby("layer", sort=False), strict=False):
            line = line.sort_values("p")
            p = line["p"].astype(float)
            ax.plot(p, line[measure], marker="o", ms=3, color=color, label=layer)
            ax.fill_between(
                p, line[f"{measure}_low"], line[f"{measure}_high"], color=color, alpha=0.2
            )
            control = summary[
                (summary["model"] == model)
                & (summary["layer"] == layer)
                & (summary["t"] == t)
                & (summary["tp"] == OTHER_IMAGE)
            ]
            if not control.empty:
                c = control.iloc[0]
                ax.axhline(c[measure], color=color, ls="--", lw=1)
                ax.axhspan(c[f"{measure}_low"], c[f"{measure}_high"], color=color, alpha=0.08)
        ticks = rows.drop_duplicates("p").sort_values("p")
        ax.set_xticks(ticks["p"].astype(float), ticks["tp"], rotation=45, fontsize=6)
        ax.set_xlabel("activation step tp")
        ax.set_ylabel(f"{measure.upper()}(x*, x_i)")
        ax.set_title(f"{model}, function t = {t}", fontsize=9)
        ax.legend(fontsize=7, title="layer (dashed: other-image control)", title_fontsize=6)
    fig.suptitle(
        title or "Invertibility across iterations (mean, bootstrap 95% CI over images)",
        fontsize=10,
    )
    finish(fig, pdf, png)
