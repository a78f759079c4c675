"""The augmentation experiment (docs/augmentation_plan.md): the head's held-out measure against
its steps under each arm, and each arm's paired difference from static features at the last
step, over training seeds."""

from __future__ import annotations

import pandas as pd

from ..core import paths
from ..core.augmentation_settings import ARMS, WINDOW_FREE
from ..core.errors import ConfigError
from .kind import FigureKind

# each arm's display name, with its letter in the plan (in the order of ARMS)
LABELS = {
    "static": "B static",
    "drift": "C drift",
    "rescaled": "C' rescaled",
    "permuted": "E permuted",
    "noise": "D noise",
    "shifted": "F shifted (±2 px)",
}
NO_WINDOW = ""  # the table's window of the arms that draw on none (WINDOW_FREE)
WINDOWS = ("early", "late")  # shown in this order, before any other window
SPLIT = "held_out"
# measure -> (its label, which way is better)
MEASURES = {
    "cross_entropy_tempered": (
        "held-out cross-entropy after temperature",
        "below 0 is better (lower held-out cross-entropy)",
    ),
    "cross_entropy": (
        "held-out cross-entropy (raw)",
        "below 0 is better (lower held-out cross-entropy)",
    ),
    "accuracy": ("held-out accuracy", "above 0 is better (higher held-out accuracy)"),
}
MEASURE = "cross_entropy_tempered"  # the plan's primary outcome


def _ordered(frame: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by model and layer (in ``table``'s order), window (no window, then
    early, late, then the others in ``table``'s order), arm (:data:`ARMS`' order) and, where
    present, step and seed."""
    windows = [NO_WINDOW, *WINDOWS, *table["window"]]
    ranks = {
        "model": list(dict.fromkeys(table["model"])),
        "layer": list(dict.fromkeys(table["layer"])),
        "window": list(dict.fromkeys(windows)),
        "arm": list(dict.fromkeys([*ARMS, *table["arm"]])),
    }
    columns = [c for c in (*ranks, "step", "seed") if c in frame]

    def rank(column: pd.Series) -> pd.Series:
        order = ranks.get(column.name)
        return column.map({v: i for i, v in enumerate(order)}) if order else column

    return frame.sort_values(columns, key=rank, kind="stable").reset_index(drop=True)


def _intervals(frame: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """Per ``keys``, the mean of ``column`` over its rows (one a seed) with its 95% Student-t
    interval over them and their number (NaN dropped)."""
    from ..analysis.stats import t_interval

    rows = []
    for key, group in frame.groupby(keys, sort=False):
        mean, low, high = t_interval(group[column].to_numpy(dtype=float))
        n_seeds = int(group[column].notna().sum())
        rows.append(
            dict(zip(keys, key, strict=True))
            | {"mean": mean, "low": low, "high": high, "n_seeds": n_seeds}
        )
    return pd.DataFrame(rows, columns=[*keys, "mean", "low", "high", "n_seeds"])


def panels(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(model, layer, window)`` of every window a drift arm ran in, in display order."""
    drift = table.loc[table["arm"] == "drift", ["model", "layer", "window"]].drop_duplicates()
    return list(_ordered(drift, table).itertuples(index=False, name=None))


def curves(table: pd.DataFrame, measure: str = MEASURE, split: str = SPLIT) -> pd.DataFrame:
    """Per panel (:func:`panels`), arm and head step: the ``split``'s ``measure``, mean over
    seeds with its 95% t interval over them. A panel holds its window's arms and its layer's
    window-free arms (static, shifted), whose rows are repeated under each window of the layer."""
    rows = table[table["split"] == split]
    frames = [
        rows[
            (rows["model"] == model)
            & (rows["layer"] == layer)
            & ((rows["window"] == window) | rows["arm"].isin(WINDOW_FREE))
        ].assign(window=window)
        for model, layer, window in panels(rows)
    ]
    keys = ["model", "layer", "window", "arm", "step"]
    if not frames:
        return _intervals(rows.iloc[:0], keys, measure)
    return _ordered(_intervals(pd.concat(frames), keys, measure), table)


def paired_differences(
    table: pd.DataFrame, measure: str = MEASURE, split: str = SPLIT
) -> pd.DataFrame:
    """Each seed's ``measure`` on ``split`` under each arm minus static's of the same seed,
    model and layer, at the last head step of that model and layer: one row per (model, layer,
    window, arm, seed), with ``step`` and ``difference`` (the window-free shifted arm's under
    window "")."""
    rows = table[table["split"] == split]
    final = rows[rows["step"] == rows.groupby(["model", "layer"])["step"].transform("max")]
    keys = ["model", "layer", "seed", "step"]
    static = final.loc[final["arm"] == "static", [*keys, measure]]
    paired = final[final["arm"] != "static"].merge(
        static.rename(columns={measure: "static"}), on=keys, how="inner", validate="many_to_one"
    )
    paired["difference"] = paired[measure] - paired["static"]
    return _ordered(
        paired[["model", "layer", "window", "arm", "seed", "step", "difference"]], table
    )


def difference_intervals(differences: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, window, arm, step) of :func:`paired_differences`: the mean difference
    over seeds with its 95% t interval and the number of seeds."""
    return _intervals(differences, ["model", "layer", "window", "arm", "step"], "difference")


def _seeds_said(counts) -> str:
    low, high = min(counts), max(counts)
    return f"{low} seeds" if low == high else f"{low}-{high} seeds"


def draw_augmentation(
    table: pd.DataFrame,
    pdf: str,
    png: str,
    measure: str = MEASURE,
    title: str | None = None,
    models: list[str] | None = None,
):
    """A row of panels per (model, layer), a column per window: the held-out ``measure``
    against the head's step under each arm (mean over seeds, 95% t band over seeds); under
    them, one panel of each arm's paired difference from static at the last step (a dot per
    seed, the mean with its 95% t interval, a line at 0)."""
    import seaborn as sns
    from matplotlib.lines import Line2D

    from .style import finish, page_size, plt

    if models:
        table = table[table["model"].isin(models)]
    label, better = MEASURES[measure]
    lines = curves(table, measure)
    differences = paired_differences(table, measure)
    intervals = difference_intervals(differences)
    keys = panels(table[table["split"] == SPLIT])
    layers = list(dict.fromkeys((model, layer) for model, layer, _ in keys))
    windows = list(dict.fromkeys(window for _, _, window in keys))
    several = len({model for model, _ in layers}) > 1
    palette = dict(zip(ARMS, sns.color_palette("colorblind"), strict=False))

    n_rows, n_cols = len(layers), max(1, len(windows))
    forest_height = 0.8 + 0.2 * len(intervals)
    width = max(4.2 * n_cols, 8.0)
    fig = plt.figure(figsize=page_size(width, 3.0 * n_rows + forest_height + 0.8))
    grid = fig.add_gridspec(n_rows + 1, n_cols, height_ratios=[3.0] * n_rows + [forest_height])
    for row, (model, layer) in enumerate(layers):
        for col, window in enumerate(windows):
            ax = fig.add_subplot(grid[row, col])
            panel = lines[
                (lines["model"] == model) & (lines["layer"] == layer) & (lines["window"] == window)
            ]
            if panel.empty:
                ax.axis("off")
                continue
            for arm, line in panel.groupby("arm", sort=False):
                color = palette.get(arm, "0.3")
                ax.plot(line["step"], line["mean"], marker="o", ms=2.5, color=color)
                ax.fill_between(line["step"], line["low"], line["high"], color=color, alpha=0.12)
            matched = " (RMS-matched to early)" if window == "late" else ""
            ax.set_title(
                f"{model + ', ' if several else ''}{layer}, {window} window{matched}", fontsize=8
            )
            ax.set_xlabel("head steps after t0", fontsize=8)
            ax.set_ylabel(label, fontsize=8)
            ax.tick_params(labelsize=7)

    forest = fig.add_subplot(grid[n_rows, :])
    y = list(range(len(intervals)))[::-1]
    for yi, row in zip(y, intervals.itertuples(index=False), strict=True):
        seeds = differences[
            (differences["model"] == row.model)
            & (differences["layer"] == row.layer)
            & (differences["window"] == row.window)
            & (differences["arm"] == row.arm)
        ]
        forest.scatter(
            seeds["difference"],
            [yi] * len(seeds),
            color=palette.get(row.arm, "0.3"),
            s=12,
            alpha=0.8,
            zorder=3,
        )
        xerr = [[row.mean - row.low], [row.high - row.mean]] if row.n_seeds > 1 else None
        forest.errorbar(row.mean, yi, xerr=xerr, fmt="s", ms=4, color="black", capsize=3)
    forest.axvline(0, color="0.4", ls=":")
    groups = intervals[["model", "layer", "window"]].to_numpy().tolist()
    for yi, before, after in zip(y[1:], groups, groups[1:], strict=False):
        if before != after:  # a thin line between (layer, window) groups
            forest.axhline(yi + 0.5, color="0.85", lw=0.6)
    names = [
        f"{r.model + ' ' if several else ''}{r.layer}{' ' + r.window if r.window else ''}: "
        f"{LABELS.get(r.arm, r.arm)} − B"
        for r in intervals.itertuples(index=False)
    ]
    forest.set_yticks(y, names, fontsize=7)
    forest.set_ylim(-0.6, len(intervals) - 0.4)
    forest.tick_params(axis="x", labelsize=7)
    steps = ", ".join(map(str, sorted(set(intervals["step"]))))
    forest.set_xlabel(
        f"arm minus B static, paired by seed, at the last head step ({steps}): {label}\n"
        f"{better}; dots: each seed; black: the mean, 95% t interval over seeds",
        fontsize=8,
    )
    counts = [*lines["n_seeds"], *intervals["n_seeds"]] or [0]
    fig.suptitle(
        f"{title or 'Drift as augmentation: the head trained on each arm'}\n"
        f"{SPLIT.replace('_', '-')}, {_seeds_said(counts)}: mean over seeds, "
        "95% Student-t band over seeds",
        fontsize=10,
    )
    handles = [Line2D([], [], color=palette[arm], marker="o", ms=4) for arm in ARMS]
    finish(fig, pdf, png, legend=(handles, [LABELS[arm] for arm in ARMS]), title_room=0.35)


def inputs(plan, name: str) -> dict:
    return {"table": paths.table("augmentation")}


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    draw_augmentation(
        pd.read_parquet(files["table"]),
        pdf,
        png,
        measure=spec.get("measure", MEASURE),
        title=spec.get("title"),
        models=spec.get("models"),
    )


def check(entry: dict, where: str, checker) -> None:
    """The config runs the augmentation experiment, and the measure is one of its table's."""
    if not (checker.config.get("experiments") or {}).get("augmentation"):
        raise ConfigError(
            f"{where}: a figure of kind augmentation draws the augmentation experiment's table; "
            "the config has no experiments.augmentation to run it"
        )
    measure = entry.get("measure", MEASURE)
    if measure not in MEASURES:
        raise ConfigError(
            f"{where}.measure: {measure!r} is not an outcome of the augmentation table; "
            f"one of {', '.join(MEASURES)}"
        )


KIND = FigureKind(
    name="augmentation",
    inputs=inputs,
    draw=draw,
    category="Experiments",
    caption="""\
Figure ``{name}`` (kind ``augmentation``, ours; docs/augmentation_plan.md): the head above a
split layer trained from t0 on each arm's features of the training images. Top, a panel per
layer and window: the held-out measure (default: cross-entropy after each arm's temperature, the
plan's primary outcome) against the head's step, each arm's mean over training seeds with a
Student's t 95% band over seeds; the window-free arms B static and F shifted are the same in
both of a layer's panels. Bottom: each arm's paired difference from B static at the last step,
a dot per seed and the mean with its 95% t interval; below 0 is better for cross-entropy. Look
for F below B first: the positive control shows the set-up can see an augmentation's benefit.
C below B, and below E (permuted) and D (noise), would be the drift acting as an augmentation
by the image's own drift; C' beside C says how much is the features' norm. The late window's
drift is RMS-matched to the early one's, so early against late differs in invertibility, not
in the drift's size.""",
    check=check,
)
