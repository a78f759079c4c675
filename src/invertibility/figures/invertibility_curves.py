"""Figure 7 (ours): the summary's measure against the activation step and the weight drift,
with Student's t bands over seeds and the controls."""

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
    """Per (model, t) of ``models`` (default all), dataset images: the measure (mean over seeds,
    Student's t 95% band over seeds) against the optimizer steps p (top row) and against the
    weight drift D_l (bottom row), one line per layer; dashed: the layer's cross-seed floor."""
    import seaborn as sns

    from .style import finish, plt

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
reconstruction) against the activation step (top) and against the weight drift D_l (bottom), per
layer, mean over training seeds with Student's t 95% bands over the seeds' means; the dashed
line is the layer's cross-seed floor.""",
)
