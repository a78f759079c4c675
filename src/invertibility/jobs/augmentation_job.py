"""One seed of the augmentation experiment, from the resolved spec its rule passes
(:meth:`invertibility.planning.augmentation.Jobs.spec`): normal training (arm A)
with the ``train`` rule's code to the end of the last window, then, per split layer, every arm
of its runs from ``t0`` (:mod:`invertibility.methods.augmentation`), and each window's drift
and retained similarity on ten training images (:mod:`invertibility.methods.window_retention`).
"""

from __future__ import annotations

import logging
import time

import pandas as pd
import torch

from ..core.atomic import atomic_path
from ..core.augmentation_settings import WINDOW_FREE, AugmentationSettings, windows_of
from ..data import datasets
from ..data.image_sets import draw_partners, first_per_class
from ..data.pixels import standardize
from ..methods.augmentation import (
    OUTCOME_COLUMNS,
    Split,
    as_trained,
    batches,
    evaluate,
    in_window,
    normal_training,
    rms_drift,
    train_arm,
    window_scale,
)
from ..methods.repeatable import stream
from ..methods.training import settings_of
from ..methods.window_retention import window_similarity
from ..nets.checkpoints import load_state
from ..nets.models import build_model
from .device import start_job

log = logging.getLogger(__name__)

KEYS = {"model": "string", "seed": "int64", "layer": "string", "window": "string"}
AUGMENTATION_COLUMNS = KEYS | {
    "arm": "string",
    "step": "int64",
    "split": "string",
    **{column: "float64" for column in OUTCOME_COLUMNS[3:]},
    "temperature_at_bound": "bool",
}
DRIFT_COLUMNS = KEYS | {
    "rms_drift": "float64",  # root-mean-square ||r^s(x) - r^t0(x)|| over the grid, as trained
    "scale": "float64",  # the factor the arms' drift was scaled by (1: as trained)
}
NORMAL = "normal"  # arm A's name in the outcome table (layer and window "": the whole network)
WINDOW_IMAGES = 1  # per class: the windows' retained similarity is measured on ten images


def settings_for(spec: dict, module: str) -> AugmentationSettings:
    train, head = spec["train"], spec["head"]
    return AugmentationSettings(
        split=module,
        t0=spec["t0"],
        windows=windows_of(spec["windows"]),
        head_steps=head["steps"],
        eval_every=head["eval_every"],
        lr=train["lr"],
        momentum=train["momentum"],
        batch_size=train["batch_size"],
        shift=head["shift"],
    )


def normal_outcome(net: torch.nn.Module, split: Split, steps: int) -> pd.DataFrame:
    """Arm A, reported only: the whole network after normal training's ``steps`` past t0 (the
    last window's end), scored as the arms are (its temperature fitted on the validation part;
    no feature norm)."""
    fixed = {"train": split.train, "validation": split.validation, "held_out": split.held_out}
    rows = evaluate(net, fixed, NORMAL, steps, float("nan"), float("nan"))
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    held = frame[frame["split"] == "held_out"].iloc[0]
    log.info(
        "arm A (normal training, %d steps past t0): held-out cross-entropy %.4f (tempered %.4f)",
        steps,
        held["cross_entropy"],
        held["cross_entropy_tempered"],
    )
    return frame


def check_start(spec: dict, trajectories: dict) -> None:
    """Log whether the state at t0 equals the train rule's checkpoint there (bitwise on one
    machine; another processor trains to other bits)."""
    names = [
        name
        for trajectory in trajectories.values()
        for part in (trajectory.lower, trajectory.head)
        for name in part.state_dict()
    ]
    saved = load_state(spec["checkpoint_t0"], names, "the experiment's start at t0")
    differences = []
    for trajectory in trajectories.values():
        for part in (trajectory.lower, trajectory.head):
            for name, tensor in part.state_dict().items():
                differences.append(float((tensor.float() - saved[name].float()).abs().max()))
    worst = max(differences, default=0.0)
    if worst == 0.0:
        log.info("the state at t0 (%s) equals the train rule's checkpoint", spec["t0_label"])
    else:
        log.warning(
            "the state at t0 (%s) differs from the train rule's checkpoint by up to %.3g "
            "(trained on another processor?); the arms start from this job's own",
            spec["t0_label"],
            worst,
        )


def window_rows(spec: dict, trajectories: dict, split: Split, device) -> tuple:
    """Per split layer: each window's drift as trained and its scale (:data:`DRIFT_COLUMNS`),
    and the per-image inversions its retained similarity is computed from
    (:func:`~invertibility.methods.window_retention.window_similarity`: the function at t0
    inverting the features, as trained, of the first training image of each class at each
    ``measured_at`` step, with the tp = t and other-image controls; partners from the seed's
    held-out part)."""
    images, labels = split.train
    chosen = first_per_class(labels, WINDOW_IMAGES)
    ids = [f"train{int(i):04d}" for i in chosen]
    pool_images, pool_labels = split.held_out
    pool_ids = [f"held{i:04d}" for i in range(len(pool_labels))]
    partners = draw_partners(labels[chosen], ids, pool_labels, pool_ids, spec["partners"])
    t0, keys = spec["t0"], {"model": spec["model"], "seed": spec["seed"]}
    drift, similarity = [], []
    for layer, module in dict.fromkeys((run["layer"], run["module"]) for run in spec["runs"]):
        trajectory = trajectories[module]
        settings = settings_for(spec, module)
        for window in settings.windows:
            steps = window.steps(t0)
            rms = rms_drift(as_trained(trajectory, steps))
            scale = window_scale(trajectory, settings, window.name)
            drift.append(
                {**keys, "layer": layer, "window": window.name, "rms_drift": rms, "scale": scale}
            )
        measured = sorted({t0 + m for w in spec["windows"].values() for m in w["measured_at"]})
        targets = {
            step: trajectory.features_grid[trajectory.grid_steps.index(step)][chosen]
            for step in measured
        }
        start = time.perf_counter()
        frame = window_similarity(
            trajectory.lower,
            images[chosen],
            ids,
            labels[chosen],
            t0,
            targets,
            pool_images,
            pool_ids,
            partners,
            spec["inversion"][layer],
            device,
        )
        log.info("%s: windows inverted in %.1f s", layer, time.perf_counter() - start)
        similarity.append(frame.assign(**keys, layer=layer))
    inverted = pd.concat(similarity, ignore_index=True)
    # steps as text, as the pipeline's t and tp (tp also holds the other-image control)
    inverted[["t", "tp"]] = inverted[["t", "tp"]].astype(str)
    return pd.DataFrame(drift, columns=list(DRIFT_COLUMNS)).astype(DRIFT_COLUMNS), inverted


def run_augmentation(
    spec: dict,
    outcome: str,
    drift: str,
    similarity: str,
    threads: int = 1,
    jobs_per_gpu: int = 1,
    progress: bool = True,
) -> None:
    """Write one seed's ``outcome`` table (every arm's evaluations, :data:`AUGMENTATION_COLUMNS`),
    its windows' ``drift`` (:data:`DRIFT_COLUMNS`) and the per-image ``similarity`` rows their
    retained similarity is computed from (:func:`window_rows`)."""
    seed = spec["seed"]
    device = start_job(threads, spec["device"], jobs_per_gpu, seed=seed)
    parts = datasets.split_parts(spec["dataset"])
    background = float(standardize(torch.zeros(1, 1, 1, 1), {**spec["dataset"], "channels": 1}))
    net = build_model(**spec["network"])
    modules = list(dict.fromkeys(run["module"] for run in spec["runs"]))
    settings = settings_for(spec, modules[0])
    start = time.perf_counter()
    trajectories = normal_training(
        net,
        parts["train"],
        settings,
        seed,
        splits=modules,
        device=device,
        progress=progress,
        train_settings=settings_of(spec["train"]),
    )
    log.info(
        "normal training to step %d: %.1f s",
        max(settings.grid_steps()),
        time.perf_counter() - start,
    )
    check_start(spec, trajectories)
    split = Split(**parts)
    normal = normal_outcome(net.cpu(), split, max(settings.grid_steps()) - settings.t0)
    order = batches(
        len(parts["train"][1]), settings.batch_size, settings.head_steps, stream(seed, "head")
    )
    frames, done = [], set()
    for run in spec["runs"]:
        layer, module = run["layer"], run["module"]
        layer_settings = settings_for(spec, module)
        seen = in_window(trajectories[module], layer_settings, run["window"])
        for arm in run["arms"]:
            window = "" if arm in WINDOW_FREE else run["window"]
            if (layer, window, arm) in done:  # a window-free arm another run already trained
                continue
            done.add((layer, window, arm))
            start = time.perf_counter()
            frame, _ = train_arm(arm, seen, split, layer_settings, order, seed, background)
            frames.append(frame.assign(model=spec["model"], seed=seed, layer=layer, window=window))
            held = frames[-1][frames[-1]["split"] == "held_out"].iloc[-1]
            if held["temperature_at_bound"]:
                log.warning("%s %s %s: the temperature fit stopped at a bound", layer, window, arm)
            log.info(
                "%s %s %s: held-out cross-entropy %.4f (tempered %.4f) after %d steps, %.1f s",
                layer,
                window or "-",
                arm,
                held["cross_entropy"],
                held["cross_entropy_tempered"],
                held["step"],
                time.perf_counter() - start,
            )
    frames.append(normal.assign(model=spec["model"], seed=seed, layer="", window=""))
    table = pd.concat(frames, ignore_index=True)[list(AUGMENTATION_COLUMNS)]
    with atomic_path(outcome) as tmp:
        table.astype(AUGMENTATION_COLUMNS).to_parquet(tmp, index=False)
    drifts, inverted = window_rows(spec, trajectories, split, device)
    with atomic_path(drift) as tmp:
        drifts.to_parquet(tmp, index=False)
    with atomic_path(similarity) as tmp:
        inverted.to_parquet(tmp, index=False)
