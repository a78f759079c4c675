"""``arm_contrast``: the augmentation experiment's claims (``docs/augmentation_plan.md``).

An arm's outcome in a seed is its ``measure`` (default ``cross_entropy_tempered``; or
``cross_entropy``) on the held-out images at the arm's last head step, read from the
experiment's table (``augmentation``: one row per model, seed, layer, window, arm, step and
split). An arm is named ``layer/window/arm``, or ``layer/arm`` for an arm that draws on no window
(``static``, ``shifted``; its rows have window ``""``). A *contrast* is the sum of its ``plus``
arms' outcomes minus the sum of its ``minus`` arms', per seed (paired over seeds: a seed enters
only with every arm the claim names, its controls' too). Lower held-out cross-entropy is better,
so "X generalizes better than Y" is ``X - Y < 0``.

*The claim.* Every contrast below 0: a one-sided paired t per contrast; the claim's p is the
largest (an intersection-union test, each contrast a part), its p against the largest of the
reverse. With a ``margin``, no practical effect: every contrast inside ``(-margin, margin)``, two
one-sided paired t tests per contrast (:func:`.equivalence.equivalence_parts`; no reliability
shrinks the margin: held-out cross-entropy has no image-level measurement noise to correct);
against it, every contrast beyond the margin (:func:`.equivalence.beyond`). The headline (value,
interval, per-seed effects) is the first contrast's. The claim takes no specification-curve
alternatives.

*Gates* (each voids the verdict with a note; at ``ALPHA``, fixed in the plan, not at Holm's
level): each of ``controls``, a positive control, must be below 0 by a one-sided paired t (the
set-up sees an augmentation's benefit at all); ``windows_differ`` needs the retained similarity
``R`` of the experiment's windows table (``augmentation_windows``) higher in the ``invertible``
window than in the ``past`` one by a one-sided paired t over the claim's seeds, with mean ``R`` at
least :data:`~invertibility.analysis.measures.INVERTIBLE` in the one and below it in the other.
The evaluator adds the gate of every kind: at least ``MIN_SEEDS`` seeds (the outcome is a held-out
set's, not a count of inverted images: no image gate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...core.augmentation_settings import ARMS, WINDOW_FREE
from ...core.errors import ConfigError
from ..measures import INVERTIBLE
from ..stats import ALPHA, UNBOUNDED, SeedTest, one_sample
from .equivalence import beyond, equivalence_parts
from .evidence import Evidence
from .kind import Kind, Note, Part, Row, combine

OUTCOMES = ("cross_entropy_tempered", "cross_entropy")  # the first is the default
TABLE, WINDOWS = "augmentation", "augmentation_windows"  # the experiment's tables, by name
HELD_OUT = "held_out"
ARM_KEYS = ["model", "seed", "layer", "window", "arm"]

Arm = tuple[str, str, str]  # (layer, window, arm); window "" for a window-free arm


def parse(reference: str) -> Arm:
    """``layer/window/arm`` (or ``layer/arm`` for a window-free arm) as ``(layer, window,
    arm)``; ValueError saying what is wrong."""
    parts = reference.split("/") if isinstance(reference, str) else []
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(
            f"an arm is layer/window/arm, or layer/arm for {' and '.join(WINDOW_FREE)}"
        )
    arm = parts[-1]
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r} (the arms: {', '.join(ARMS)})")
    if len(parts) == 2 and arm not in WINDOW_FREE:
        raise ValueError(f"arm {arm!r} replays a window: name it, layer/window/{arm}")
    if len(parts) == 3 and arm in WINDOW_FREE:
        raise ValueError(f"arm {arm!r} draws on no window: write layer/{arm}")
    return (parts[0], "", arm) if len(parts) == 2 else (parts[0], parts[1], arm)


def name_of(arm: Arm) -> str:
    return "/".join(part for part in arm if part)


Contrast = tuple[tuple[Arm, ...], tuple[Arm, ...]]  # (plus, minus)


def contrasts_of(claim: dict, key: str = "contrasts") -> list[Contrast]:
    return [
        (tuple(map(parse, entry["plus"])), tuple(map(parse, entry["minus"])))
        for entry in claim.get(key) or []
    ]


def contrast_name(contrast: Contrast) -> str:
    plus, minus = contrast
    return " - ".join([" + ".join(map(name_of, plus)), *map(name_of, minus)])


def arm_references(claim: dict) -> set[Arm]:
    """Every ``(layer, window, arm)`` the claim's contrasts and controls name (window ``""``
    for a window-free arm): the arms the experiment must run."""
    return {
        arm
        for key in ("contrasts", "controls")
        for plus, minus in contrasts_of(claim, key)
        for arm in (*plus, *minus)
    }


def window_references(claim: dict) -> set[tuple[str, str]]:
    """The ``(layer, window)`` pairs whose retained similarity ``windows_differ`` reads."""
    spec = claim.get("windows_differ")
    return {(spec["layer"], spec[key]) for key in ("invertible", "past")} if spec else set()


def check(claim: dict, where: str) -> None:
    """The claim's contrasts, controls, windows, margin and measure are well formed (which arms
    and windows the experiment runs is the planner's check)."""
    for key in ("contrasts", "controls"):
        entries = claim.get(key)
        if entries is None and key == "controls":
            continue
        if not isinstance(entries, list) or not entries:
            raise ConfigError(
                f"{where}.{key}: a list of contrasts, each {{plus: [arms], minus: [arms]}}"
            )
        for k, entry in enumerate(entries):
            check_contrast(entry, f"{where}.{key}[{k}]")
    windows = claim.get("windows_differ")
    if windows is not None:
        if (
            not isinstance(windows, dict)
            or set(windows) != {"layer", "invertible", "past"}
            or not all(isinstance(value, str) and value for value in windows.values())
        ):
            raise ConfigError(
                f"{where}.windows_differ: {{layer, invertible, past}}, a layer and two of its "
                f"windows (the one where it stays invertible, the one past it)"
            )
        if windows["invertible"] == windows["past"]:
            raise ConfigError(f"{where}.windows_differ: invertible and past name one window")
    margin = claim.get("margin")
    if margin is not None and not (
        isinstance(margin, int | float)
        and not isinstance(margin, bool)
        and np.isfinite(margin)
        and margin > 0
    ):
        raise ConfigError(f"{where}.margin: a positive number (the margin of no practical effect)")
    measure = claim.get("measure", OUTCOMES[0])
    if measure not in OUTCOMES:
        raise ConfigError(
            f"{where}.measure: an arm_contrast claim's outcome is one of {', '.join(OUTCOMES)}, "
            f"not {measure!r}"
        )


def check_contrast(entry, where: str) -> None:
    if not isinstance(entry, dict) or set(entry) != {"plus", "minus"}:
        raise ConfigError(f"{where}: a contrast is {{plus: [arms], minus: [arms]}}")
    arms = []
    for side in ("plus", "minus"):
        references = entry[side]
        if not isinstance(references, list) or not references:
            raise ConfigError(f"{where}.{side}: a list of arms (layer/window/arm or layer/arm)")
        for j, reference in enumerate(references):
            try:
                arms.append(parse(reference))
            except ValueError as error:
                raise ConfigError(f"{where}.{side}[{j}]: {reference!r}: {error}") from None
    if len(entry["plus"]) != len(entry["minus"]):
        raise ConfigError(
            f"{where}: {len(entry['plus'])} arms in plus and {len(entry['minus'])} in minus; a "
            f"contrast is a difference of as many outcomes on each side"
        )
    if len(set(arms)) < len(arms):
        raise ConfigError(f"{where}: an arm appears twice in the contrast")


def outcomes(evidence: Evidence, measure: str) -> dict[str, pd.DataFrame]:
    """Per model, each seed's (index) outcome of each arm (columns: the arms' names,
    :func:`name_of`): ``measure`` on the held-out images at the arm's last step; read once per
    evidence."""

    def read() -> dict[str, pd.DataFrame]:
        table = evidence.experiment(TABLE)
        if table.empty:
            return {}
        rows = table[table["split"] == HELD_OUT]
        rows = rows.assign(window=rows["window"].fillna("").astype(str))
        last = rows["step"] == rows.groupby(ARM_KEYS)["step"].transform("max")
        wide = rows[last].set_index(ARM_KEYS)[measure].astype(float).unstack(ARM_KEYS[2:])
        wide.columns = [name_of(arm) for arm in wide.columns]
        return {
            model: frame.droplevel("model").dropna(axis=1, how="all")
            for model, frame in wide.groupby(level="model", sort=False)
        }

    return evidence.remembered((KIND_NAME, "outcomes", measure), read)


def effect(values: pd.DataFrame, contrast: Contrast) -> pd.Series:
    """The contrast per seed (the seeds of ``values``, which has every arm it names)."""
    plus, minus = contrast
    if values.empty:
        return pd.Series(dtype=float)
    return sum(values[name_of(arm)] for arm in plus) - sum(values[name_of(arm)] for arm in minus)


def below_zero(values: pd.DataFrame, contrast: Contrast) -> Part:
    """The part "the contrast is below 0" (a one-sided paired t)."""
    test = one_sample(effect(values, contrast), design="paired")
    return Part(contrast_name(contrast), test, direction="less")


def reading(name: str, test: SeedTest, p: float, which: str = "p for the claim") -> str:
    return f"{name} {test.estimate:.4f} (seed SD {test.seed_sd:.4f}, {which} {p:.3g})"


def windows_gate(
    evidence: Evidence, claim: dict, model: str | None, seeds: pd.Index
) -> tuple[list[Note], str]:
    """``windows_differ``: the note that voids the claim where its windows do not differ in
    retained similarity as it needs, and the reading (for the detail)."""
    spec = claim.get("windows_differ")
    if not spec:
        return [], ""
    layer, invertible, past = spec["layer"], spec["invertible"], spec["past"]
    table = evidence.experiment(WINDOWS)
    if table.empty:
        both = pd.DataFrame(columns=[invertible, past], dtype=float)
    else:
        rows = table[
            (table["model"] == model) & (table["layer"] == layer) & table["seed"].isin(seeds)
        ]
        retained = rows["retained"].astype(float)
        if "measurable" in rows:
            retained = retained.where(rows["measurable"].astype(bool))
        wide = rows.assign(retained=retained).set_index(["seed", "window"])["retained"]
        wide = wide.unstack("window")
        both = wide.reindex(columns=[invertible, past]).dropna()
    test = one_sample(both[invertible] - both[past], design="paired")
    high, low = float(both[invertible].mean()), float(both[past].mean())
    text = (
        f"retained similarity of {layer} over {len(both)} seeds: {invertible} {high:.2f}, "
        f"{past} {low:.2f}, difference {test.estimate:.3f} (one-sided paired p {test.p:.3g})"
    )
    if test.p < ALPHA and high >= INVERTIBLE and low < INVERTIBLE:
        return [], text
    return [
        Note(
            f"the windows do not differ in invertibility as the claim needs: {text}; it needs "
            f"the difference above 0 at {ALPHA:g}, mean R at least {INVERTIBLE:g} in "
            f"{invertible} and below it in {past}",
            "windows do not differ",
        )
    ], text


def seeds_of(evidence: Evidence, claim: dict, measure: str):
    """The claim's model, its outcomes over the seeds that have every arm it names, and notes
    where that cannot be read (no model named among several, an arm no seed has)."""
    by_model = outcomes(evidence, measure)
    model, notes = claim.get("model"), []
    if model is None and len(by_model) > 1:
        notes.append(
            Note(
                f"the augmentation table holds models {', '.join(sorted(by_model))}: name the "
                f"claim's model",
                "model not named",
            )
        )
    elif model is None and by_model:
        model = next(iter(by_model))
    values = by_model.get(model, pd.DataFrame())
    named = sorted(map(name_of, arm_references(claim)))
    missing = [arm for arm in named if arm not in values.columns]
    if missing and not notes:
        notes.append(
            Note(
                f"no seed has {', '.join(missing)} in the augmentation table"
                + (f" (model {model})" if model else ""),
                "arm missing",
            )
        )
    complete = pd.DataFrame() if missing else values[named].dropna().rename_axis("seed")
    left_out = sorted(set(values.index) - set(complete.index))
    if left_out and not notes:  # a failed seed is rerun, never left out (the plan)
        notes.append(
            Note(
                f"seeds {left_out} lack an outcome of {', '.join(named)}: a seed is rerun, "
                f"never left out",
                "seed incomplete",
            )
        )
    return model, complete, notes, left_out


def evaluate(evidence: Evidence, claim: dict, alpha: float = ALPHA) -> list[Row]:
    measure = claim.get("measure", OUTCOMES[0])
    contrasts = contrasts_of(claim)
    model, values, notes, left_out = seeds_of(evidence, claim, measure)
    margin = claim.get("margin")
    effects = [effect(values, contrast) for contrast in contrasts]
    tests = [one_sample(found, design="paired") for found in effects]  # each against 0
    if margin is None:
        parts = tuple(
            Part(contrast_name(contrast), test, direction="less")
            for contrast, test in zip(contrasts, tests, strict=True)
        )
        p, p_reverse = combine(parts)
    else:
        parts = tuple(
            part
            for contrast, found in zip(contrasts, effects, strict=True)
            for part in equivalence_parts(
                found, margin, UNBOUNDED, f"{contrast_name(contrast)} ", "paired"
            )
        )
        p = combine(parts)[0]
        p_reverse = float(np.max([beyond(found, margin) for found in effects]))
    detail = [f"{measure} on the held-out images at each arm's last head step, model {model}"]
    per_contrast = len(parts) // len(contrasts)  # one part each, or two (the margin's)
    for k, (contrast, test) in enumerate(zip(contrasts, tests, strict=True)):
        own = parts[k * per_contrast : (k + 1) * per_contrast]
        detail.append(reading(contrast_name(contrast), test, combine(own)[0]))
    if not values.empty:
        for contrast in contrasts_of(claim, "controls"):
            control = below_zero(values, contrast)
            text = reading(
                f"positive control {control.name}", control.test, control.p, "one-sided p"
            )
            detail.append(text)
            if not control.p < ALPHA:
                notes.append(
                    Note(
                        f"{text}: the set-up does not show its benefit (needs p < {ALPHA:g})",
                        "positive control fails",
                    )
                )
        gate, text = windows_gate(evidence, claim, model, values.index)
        notes += gate
        detail += [text] if text else []
    if left_out and not values.empty:
        detail.append(f"seeds without every arm, left out: {left_out}")
    return [
        Row(
            claim=claim["claim"],
            measure=f"{measure}: {contrast_name(contrasts[0])} (paired by seed)",
            test=tests[0],  # the headline: the first contrast
            p=p,
            p_reverse=p_reverse,
            parts=parts,
            n_images=None,
            detail="; ".join(detail),
            notes=notes,
            margin=np.nan if margin is None else float(margin),
            effects=effects[0].dropna().to_dict(),
        )
    ]


def line(claim: dict) -> str:
    return "0" if claim.get("margin") is None else f"+-{claim['margin']:g}"


KIND_NAME = "arm_contrast"
KIND = Kind(
    name=KIND_NAME,
    evaluate=evaluate,
    null=lambda claim: 0.0,
    needs=("contrasts",),
    takes=("controls", "windows_differ", "margin", "model"),
    check=check,
    line=line,
    alternatives={},  # an experiment's pre-registered outcome: no alternative definitions
)
