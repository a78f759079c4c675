"""Figure 6: norm distances against invertibility, one panel per ``analyses.distances`` entry."""

from __future__ import annotations

import pandas as pd

from ..core import paths
from .kind import FigureKind


def draw_norm_distances(
    distances: pd.DataFrame, table: pd.DataFrame, pdf: str, png: str, title: str | None = None
):
    """Per (model, layer), every seed: histogram of ||r^t(x_i) - r^t(x_j)|| over other-class
    pairs with the held-out pool (all and nearest), and the same-image distances
    ||r^t(x_i) - r^tp(x_i)|| at the steps where x_i is still identified, against p."""
    import seaborn as sns

    from .style import finish, grid

    panels = distances[["model", "layer", "t"]].drop_duplicates().to_numpy().tolist()
    fig, axes = grid(len(panels))
    invertible = table[table["identified"].fillna(False) & ~table["photo"]][
        ["model", "seed", "layer", "t", "tp", "image_id", "p"]
    ]
    legend = {}  # label -> handle, over every panel: one legend for the figure, none on a panel
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
        for axis in (ax, twin):
            for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
                legend.setdefault(label, handle)
            if axis.get_legend():
                axis.get_legend().remove()
    fig.suptitle(
        title
        or "Norm distances: other-class distances (histograms) vs how far x_i moves while "
        "still invertible (scatter)",
        fontsize=10,
    )
    finish(fig, pdf, png, legend=(list(legend.values()), list(legend)) if legend else None)


def inputs(plan, name: str) -> dict:
    return {"distances": plan.distances.tables(), "table": paths.table("invertibility")}


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    distances = pd.concat([pd.read_parquet(path) for path in files["distances"]])
    table = pd.read_parquet(files["table"])
    draw_norm_distances(distances, table, pdf, png, title=spec.get("title"))


KIND = FigureKind(
    name="norm_distances",
    inputs=inputs,
    draw=draw,
    category="Paper figures",
    caption="""\
Figure ``{name}`` (kind ``norm_distances``): for each (model, layer) in ``analyses.distances``,
every seed, the histogram of distances between the representation of an inverted image and those
of the held-out pool's images of other classes (all, and the nearest), and the distance that an
image's own representation moves across the activation steps at which it is still identified.
The claims table tests the paper's reading per (model, layer).""",
)
