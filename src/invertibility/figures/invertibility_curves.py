"""Figure 7 (ours): the summary's measure against the activation step and the weight drift, and
the excess similarity E (no division) against the step, with Student's t bands over seeds and
the controls."""

from __future__ import annotations

import pandas as pd

from ..core import paths
from ..core.vocabulary import CONTROLS, CROSS_SEED
from .kind import FigureKind


def draw_invertibility_curves(
    summary: pd.DataFrame,
    pdf: str,
    png: str,
    measure: str = "retained",
    title: str | None = None,
    models: list[str] | None = None,
):
    """A row per (model, t) of ``models`` (default all), dataset images: the measure (mean over
    seeds, Student's t 95% band over seeds) against the optimizer steps p (left) and against the
    weight drift D_l (middle), and the excess similarity ``E = c_tp - c_null`` against p (right,
    where the summary has it and the measure is not E itself), one line per layer; dashed: the
    layer's cross-seed floor."""
    import seaborn as sns

    from .style import finish, page_size, plt

    summary = summary[summary["images"] == "dataset"]
    if models:
        summary = summary[summary["model"].isin(models)]
    curves = summary[~summary["tp"].isin(CONTROLS)]
    groups = curves[["model", "t"]].drop_duplicates().to_numpy().tolist()
    views = [("p", measure), ("drift", measure)]
    if measure != "excess" and "excess" in summary:
        views.append(("p", "excess"))
    # a row per (model, t), a column per view: readable at a page's width however many models
    fig, axes = plt.subplots(
        len(groups),
        len(views),
        figsize=page_size(4.0 * len(views), 2.9 * len(groups)),
        squeeze=False,
    )
    palette = sns.color_palette("colorblind")
    for row, (model, t) in enumerate(groups):
        rows = curves[(curves["model"] == model) & (curves["t"] == t)]
        for col, (x_name, shown) in enumerate(views):
            axis = axes[row, col]
            lines = rows.groupby("layer", sort=False)
            for color, (layer, line) in zip(palette, lines, strict=False):
                line = line.sort_values("p")
                x = line[x_name].astype(float)
                axis.plot(x, line[shown], marker="o", ms=3, color=color, label=layer)
                axis.fill_between(
                    x, line[f"{shown}_low"], line[f"{shown}_high"], color=color, alpha=0.2
                )
                floor = summary[
                    (summary["model"] == model)
                    & (summary["layer"] == layer)
                    & (summary["t"] == t)
                    & (summary["tp"] == CROSS_SEED)
                ]
                if not floor.empty:
                    axis.axhline(floor.iloc[0][shown], color=color, ls="--", lw=1)
            axis.set_ylabel(shown)
            axis.set_title(f"{model}, function t = {t}", fontsize=8)
            if x_name == "p":
                ticks = rows.drop_duplicates("p").sort_values("p")
                axis.set_xticks(ticks["p"].astype(float), ticks["tp"], rotation=45, fontsize=6)
                axis.set_xlabel("activation step tp", fontsize=8)
            else:
                axis.set_xlabel("weight drift D_l from t to tp", fontsize=8)
            if col == 0:
                axis.legend(fontsize=6, title="layer (dashed: cross-seed floor)", title_fontsize=6)
    fig.suptitle(
        title or "Invertibility across iterations (mean over seeds, 95% CI over seeds)",
        fontsize=10,
    )
    finish(fig, pdf, png, title_room=0.3)


def inputs(plan, name: str) -> dict:
    return {"summary": paths.table("invertibility_summary")}


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    draw_invertibility_curves(
        pd.read_parquet(files["summary"]),
        pdf,
        png,
        measure=spec.get("measure", "retained"),
        title=spec.get("title"),
        models=spec.get("models"),
    )


KIND = FigureKind(
    name="invertibility_curves",
    inputs=inputs,
    draw=draw,
    category="Measurements",
    caption="""\
Figure ``{name}`` (kind ``invertibility_curves``, ours): the figure's ``measure`` (default:
retained similarity, 1 = nothing lost since t, 0 = no closer to x_i than another image's
reconstruction; limited to [0, 1], missing for a seed whose control margin is not measurable)
against the activation step (left) and against the weight drift D_l (middle), and the excess
similarity E = c_tp - c_null, without division, against the step (right), a row per model and
function step, a line per layer, mean over training seeds with Student's t 95% bands over the
seeds' means; the dashed line is the layer's cross-seed floor.""",
)
