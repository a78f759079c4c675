"""Block gradient-norm ratios, feature norms, residual steps and frame potential over training."""

from __future__ import annotations

import pandas as pd

from .kind import FigureKind


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
    import seaborn as sns

    from .style import finish, page_size, plt

    models = list(dict.fromkeys(blocks["model"]))
    fig, axes = plt.subplots(
        len(models), 4, figsize=page_size(16, 3.0 * len(models)), squeeze=False
    )
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


def inputs(plan, name: str) -> dict:
    weights = plan.diagnostics.tables("weights")
    return {"blocks": plan.diagnostics.block_tables(), "weights": weights}


def read_tables(paths: list[str]) -> pd.DataFrame:
    """The tables as one (empty when there are none: a config whose inversions have no
    diagnostics run still draws its block diagnostics)."""
    frames = [pd.read_parquet(path) for path in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    blocks, weights = read_tables(files["blocks"]), read_tables(files["weights"])
    if spec.get("models"):
        blocks = blocks[blocks["model"].isin(spec["models"])]
        weights = weights[weights["model"].isin(spec["models"])]
    draw_training_diagnostics(blocks, weights, pdf, png, title=spec.get("title"))


KIND = FigureKind(
    name="training_diagnostics",
    inputs=inputs,
    draw=draw,
    category="Ablations",
    caption="""\
Figure ``{name}`` (kind ``training_diagnostics``, ours): per model, over training (mean over
seeds, band: range over seeds), each block's gradient-norm ratio ``||dL/dx_b|| /
||dL/dx_(b+1)||`` (1: norm preserved), its output's feature norm and its relative step
``||x_(b+1) - x_b|| / ||x_b||`` (defined where a block keeps the shape), and the frame potential
of each inverted layer's weight rows over its minimum (1: no redundancy).""",
)
