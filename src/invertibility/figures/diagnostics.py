"""Figures of the ablations and diagnostics: horizon against width, training diagnostics (block
gradient-norm ratios, feature norms, residual steps, frame potential) and one panel per
invertibility predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from ..core.vocabulary import CONTROLS
from .analysis import _grid, finish, plt


def draw_width_horizons(
    horizons: pd.DataFrame,
    summary: pd.DataFrame,
    widths: dict[str, float],
    pdf: str,
    png: str,
    title: str | None = None,
):
    """Per layer inverted in every model, against the width (log axis): the horizon in
    optimizer steps with its 95% CI (a triangle: censored, at least the last step tested), and
    the mean identification and SSIM (secondary) over the activation steps ``tp > t`` that every
    model tested, with the range of their CIs."""
    curves = summary[
        summary["model"].isin(widths)
        & (summary["images"] == "dataset")
        & ~summary["tp"].isin(CONTROLS)
        & (summary["p"] > 0)
    ].assign(width=lambda f: f["model"].map(widths))
    in_every = curves.groupby("layer")["model"].nunique() == len(widths)
    layers = sorted(in_every[in_every].index)
    fig, axes = plt.subplots(3, 1, figsize=(5.5, 8.6), sharex=True)
    palette = dict(zip(layers, sns.color_palette("colorblind"), strict=False))
    rows = horizons[horizons["model"].isin(widths) & horizons["layer"].isin(layers)]
    rows = rows.assign(width=rows["model"].map(widths)).sort_values("width")
    for layer, line in rows.groupby("layer"):
        color = palette[layer]
        axes[0].plot(line["width"], line["horizon_p"], color=color, label=layer)
        axes[0].vlines(line["width"], line["horizon_p_low"], line["horizon_p_high"], color=color)
        for censored, marker in ((False, "o"), (True, "^")):
            chosen = line[line["censored"] == censored]
            axes[0].scatter(
                chosen["width"],
                chosen["horizon_p"],
                color=color,
                marker=marker,
                facecolors="none" if censored else color,
            )
    axes[0].set_ylabel("horizon (optimizer steps)\ntriangle: censored (at least)")
    for ax, measure, label in (
        (axes[1], "retained", "mean retained similarity"),
        (axes[2], "ssim", "mean SSIM (secondary)"),
    ):
        for layer in layers:
            line = curves[curves["layer"] == layer]
            shared = line.groupby("tp")["model"].nunique() == len(widths)
            line = line[line["tp"].isin(shared[shared].index)]
            means = line.groupby("width")[[measure, f"{measure}_low", f"{measure}_high"]].mean()
            color = palette[layer]
            ax.plot(means.index, means[measure], marker="o", color=color, label=layer)
            ax.fill_between(
                means.index,
                means[f"{measure}_low"],
                means[f"{measure}_high"],
                color=color,
                alpha=0.2,
            )
        ax.set_ylabel(f"{label}\nover the tp > t every model tested")
    axes[1].legend(fontsize=7, title="layer", title_fontsize=7)
    axes[2].set_xscale("log")
    ticks = sorted(set(widths.values()))
    axes[2].set_xticks(ticks, [str(int(w)) for w in ticks])
    axes[2].minorticks_off()
    axes[2].set_xlabel("width of the first hidden layer (units)")
    fig.suptitle(title or "Invertibility against width", fontsize=10)
    finish(fig, pdf, png)


def draw_training_diagnostics(
    blocks: pd.DataFrame,
    weights: pd.DataFrame,
    pdf: str,
    png: str,
    title: str | None = None,
):
    """One row per model, mean over seeds (band: min to max over seeds): each block's
    gradient-norm ratio, feature norm and residual step against the step; each inverted layer's
    frame potential at each checkpoint."""
    models = list(dict.fromkeys(blocks["model"]))
    fig, axes = plt.subplots(len(models), 4, figsize=(16, 3.0 * len(models)), squeeze=False)
    quantities = (
        ("grad_ratio", "||dL/dx_b|| / ||dL/dx_b+1||", True),
        ("feature_norm", "feature norm ||x_b+1||", True),
        ("residual_step", "||x_b+1 - x_b|| / ||x_b||", False),
    )
    for row, model in zip(axes, models, strict=True):
        rows = blocks[blocks["model"] == model]
        for ax, (column, label, log) in zip(row[:3], quantities, strict=False):
            if rows[column].notna().any():
                sns.lineplot(
                    rows,
                    x="step",
                    y=column,
                    hue="block",
                    errorbar=("pi", 100),
                    ax=ax,
                    palette="viridis",
                    legend=column == "grad_ratio",
                )
                if log:
                    ax.set_yscale("log")
            else:
                ax.text(
                    0.5,
                    0.5,
                    "undefined: every block\nchanges the shape",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    fontsize=8,
                )
            ax.set_title(f"{model}: {label}", fontsize=8)
        if row[0].get_legend():
            row[0].legend(fontsize=5, ncol=2, title="block", title_fontsize=5)
        frames = weights[(weights["model"] == model) & weights["frame_potential"].notna()]
        if not frames.empty:
            sns.lineplot(
                frames,
                x="index",
                y="frame_potential",
                hue="layer",
                marker="o",
                errorbar=("pi", 100),
                ax=row[3],
            )
            row[3].legend(fontsize=6)
        row[3].set_title(f"{model}: frame potential / its minimum", fontsize=8)
        row[3].set_xlabel("step")
    fig.suptitle(title or "Training diagnostics (mean over seeds; band: range)", fontsize=10)
    finish(fig, pdf, png)


def draw_predictors(
    units: pd.DataFrame, predictors: pd.DataFrame, pdf: str, png: str, title: str | None = None
):
    """One panel per predictor: its value against the invertibility of every unit (model,
    seed, layer, t, tp), coloured by model, with Spearman's rho and its 95% CI."""
    fig, axes = _grid(len(predictors))
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
        best = " (best)" if row["best"] else ""
        ax.set_title(
            f"{name}{best}: rho {row['rho']:.2f} [{row['low']:.2f}, {row['high']:.2f}], "
            f"{row['n_units']} units\nwithin (model, layer): {row['rho_within']:.2f} "
            f"[{row['low_within']:.2f}, {row['high_within']:.2f}], {row['n_strata']} strata",
            fontsize=8,
        )
        ax.set_ylabel(f"mean {measure}")
    if axes and axes[0].get_legend():
        axes[0].legend(fontsize=5, ncol=2)
    fig.suptitle(title or "What predicts invertibility (Spearman, runs resampled)", fontsize=10)
    finish(fig, pdf, png)
