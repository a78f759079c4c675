"""One panel per invertibility predictor, with its rank correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core import paths
from .kind import FigureKind


def draw_predictors(
    units: pd.DataFrame, predictors: pd.DataFrame, pdf: str, png: str, title: str | None = None
):
    """One panel per predictor: its value against the invertibility of every unit (model,
    seed, layer, t, tp), coloured by model, with Spearman's rho and its 95% CI."""
    import seaborn as sns

    from .style import finish, grid

    fig, axes = grid(len(predictors))
    measure = predictors["measure"].iloc[0] if len(predictors) else "identified"
    for ax, (_, row) in zip(axes, predictors.iterrows(), strict=True):
        name = row["predictor"]
        usable = units[np.isfinite(units[name].astype(float))]
        if not usable.empty:
            sns.scatterplot(
                usable,
                x=name,
                y="invertibility",
                hue="model",
                style="layer",
                ax=ax,
                s=18,
                legend=ax is axes[0],
            )
        ax.set_title(
            f"{name}: rho {row['rho']:.2f} [{row['low']:.2f}, {row['high']:.2f}], "
            f"{row['n_units']} units\nwithin (model, layer): {row['rho_within']:.2f} "
            f"[{row['low_within']:.2f}, {row['high_within']:.2f}], {row['n_strata']} strata",
            fontsize=8,
        )
        ax.set_ylabel(f"mean {measure}")
    if axes and axes[0].get_legend():
        axes[0].legend(fontsize=5, ncol=2)
    fig.suptitle(title or "What predicts invertibility (Spearman, runs resampled)", fontsize=10)
    finish(fig, pdf, png)


def inputs(plan, name: str) -> dict:
    return {"predictors": paths.table("predictors"), "units": paths.table("predictor_units")}


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    units, predictors = pd.read_parquet(files["units"]), pd.read_parquet(files["predictors"])
    draw_predictors(units, predictors, pdf, png, title=spec.get("title"))


KIND = FigureKind(
    name="predictors",
    inputs=inputs,
    draw=draw,
    category="Ablations",
    caption="""\
Figure ``{name}`` (kind ``predictors``, ours): each candidate predictor of invertibility against
the retained similarity (``analyses.predictors_measure``) of every inverted (model, seed, layer,
t, tp > t); the title gives Spearman's rank correlation with a 95% interval from a bootstrap
over training runs (each predictor's own interval, not corrected for looking at several). Below
it, the same inside each (model, layer), averaged over the strata: a pooled correlation can come
from differences between networks alone.""",
)
