"""Horizon, retained similarity and SSIM against the width of MLPs that differ only in width."""

from __future__ import annotations

import pandas as pd

from ..core import paths
from ..core.errors import ConfigError
from ..core.vocabulary import CONTROLS
from .kind import FigureKind


def draw_width_horizons(
    horizons: pd.DataFrame,
    summary: pd.DataFrame,
    widths: dict[str, float],
    pdf: str,
    png: str,
    title: str | None = None,
):
    """Per layer inverted in every model, against the width (log axis): the horizon in
    optimizer steps, the median over seeds with its order-statistic interval (a hollow
    triangle: half or more of the seeds censored, so the median is at least that), and the
    mean retained similarity and SSIM (secondary) over the activation steps ``tp > t`` that
    every model tested, with the range of their CIs."""
    import seaborn as sns

    from .style import finish, plt

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
            chosen = line[line["median_censored"].astype(bool) == censored]
            axes[0].scatter(
                chosen["width"],
                chosen["horizon_p"],
                color=color,
                marker=marker,
                facecolors="none" if censored else color,
            )
    axes[0].set_ylabel("median horizon (steps)\ntriangle: censored (at least)")
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


def inputs(plan, name: str) -> dict:
    return {
        "horizons": paths.table("invertibility_horizons"),
        "summary": paths.table("invertibility_summary"),
    }


def planned(plan, name: str) -> dict:
    """Each MLP's width (its first hidden layer's), from its config entry."""
    return {
        "widths": {m: plan.models[m]["hidden"][0] for m in plan.config["figures"][name]["models"]}
    }


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    horizons, summary = pd.read_parquet(files["horizons"]), pd.read_parquet(files["summary"])
    draw_width_horizons(horizons, summary, spec["widths"], pdf, png, title=spec.get("title"))


def check(entry: dict, where: str, checker) -> None:
    models = entry.get("models", [])
    not_mlp = [m for m in models if checker.models[m]["architecture"] != "mlp"]
    if len(models) < 2 or not_mlp:
        raise ConfigError(
            f"{where}.models: a width_horizons figure compares two or more MLPs "
            f"(given: {', '.join(models) or 'none'}; not MLPs: {', '.join(not_mlp) or 'none'})"
        )


KIND = FigureKind(
    name="width_horizons",
    inputs=inputs,
    draw=draw,
    category="Ablations",
    caption="""\
Figure ``{name}`` (kind ``width_horizons``, ours): for MLPs that differ only in width, per layer
inverted in every one of them, against the width of the first hidden layer (log axis): the
invertibility horizon in optimizer steps (top; each seed's horizon from its retained-similarity
curve; median over seeds, order-statistic interval (coverage given in the horizons table's
``interval_coverage``: 75% at 3 seeds, 94% at 5, at least 95% from 6); a triangle marks a median
that is censored: half or more of the seeds never failed, so it is at least the last activation
step tested, which can differ between models), and the mean retained similarity (middle) and SSIM
(bottom, secondary) over the activation steps after t that every model tested, with the range of
their 95% CIs.""",
    planned=planned,
    check=check,
)
