"""One function per rule: what a Snakemake job does, callable from a script or a test."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from . import data, paths
from .atomic import atomic_path, save_npz
from .checkpoints import load_checkpoint, save_checkpoint
from .device import choose_device, seed_everything, set_threads
from .inversion import initial_images, invert_in_chunks
from .models import build_model
from .plan import OTHER_IMAGE, InversionJob, Plan
from .taps import Tap
from .training import TrainSettings, predict, train

log = logging.getLogger(__name__)


def new_model(plan: Plan, model: str):
    spec, ds = plan.model(model), plan.dataset(model)
    return build_model(
        spec["architecture"], data.num_classes(ds), data.input_shape(ds), spec.get("hidden")
    )


def load_model(plan: Plan, model: str, checkpoint: str | Path):
    return load_checkpoint(new_model(plan, model), checkpoint)


def run_training(
    plan: Plan,
    model: str,
    checkpoints: dict[str, str],
    table: str,
    threads: int = 1,
    progress: bool = True,
) -> None:
    """Train ``model`` and write ``checkpoints`` ({step label: path}) and the training table."""
    set_threads(threads)
    spec = plan.model(model)
    device = choose_device(plan.config["device"])
    per_epoch = plan.per_epoch(model)
    by_index: dict[int, list[str]] = {}
    for label in checkpoints:
        by_index.setdefault(plan.step_index(model, label, "step"), []).append(label)
    seed_everything(spec["train"]["seed"])
    net = new_model(plan, model)

    def save(net_, index: int) -> None:
        for label in by_index[index]:
            save_checkpoint(
                net_, checkpoints[label], {"model": model, "step": label, "index": index}
            )
            log.info("saved %s (step %d)", checkpoints[label], index)

    settings = TrainSettings(
        **{k: v for k, v in spec["train"].items() if k in TrainSettings.__dataclass_fields__}
    )
    last = None
    if spec["train"].get("train_to_end"):
        last = spec["train"]["epochs"] * per_epoch
    log.info(
        "training %s on %s for up to step %s (%d iterations per epoch)",
        model,
        device,
        last or max(by_index),
        per_epoch,
    )
    history = train(
        net,
        data.training_set(plan.dataset(model)),
        settings,
        by_index,
        per_epoch,
        save,
        device,
        last_step=last,
        progress=progress,
    )
    with atomic_path(table) as tmp:
        history.to_parquet(tmp, index=False)


def _other_class_partner(labels: torch.Tensor) -> torch.Tensor:
    """For each image, the index of the next image (cyclically) of a different class; photos
    (label -1) are paired with the next photo, or the next labelled image if there is one only."""
    n = len(labels)
    partner = []
    for i in range(n):
        for step in range(1, n):
            j = (i + step) % n
            if labels[j] != labels[i] or (labels[i] == -1 and j != i):
                partner.append(j)
                break
        else:
            partner.append(i)
    return torch.tensor(partner, dtype=torch.long)


def run_inversion(
    plan: Plan,
    job: InversionJob,
    checkpoints: dict[str, str],
    output: str,
    threads: int = 1,
    progress: bool = True,
) -> dict:
    """Invert ``r_l^tp(x_i)`` (or, for the control, ``r_l^t(x_j)``) with ``r_l^t``.

    ``checkpoints`` maps ``t``, ``tp`` and ``classifier`` to paths. Writes the npz described in
    the README and returns its per-image metrics."""
    set_threads(threads)
    device = choose_device(plan.config["device"])
    settings = plan.inversion_settings(job.model)
    seed_everything(settings.seed)
    spec = plan.dataset(job.model)
    images = data.inversion_images(spec, plan.model(job.model)["images"])
    x = images.images.to(device)
    layer = plan.module_path(job.model, job.layer)

    function_net = load_model(plan, job.model, checkpoints["t"]).to(device)
    for p in function_net.parameters():
        p.requires_grad_(False)
    forward = Tap(function_net, layer)
    with torch.no_grad():
        if job.tp == OTHER_IMAGE:
            partner = _other_class_partner(images.labels)
            target = forward(x[partner.to(device)])
            target_net = function_net
        else:
            partner = torch.arange(len(x))
            target_net = load_model(plan, job.model, checkpoints["tp"]).to(device)
            target = Tap(target_net, layer)(x)

    init = initial_images(images.ids, x.shape[1:], settings.init_std, settings.seed).to(device)
    result = invert_in_chunks(forward, target, init, settings, progress)
    n_diverged = int(result.diverged.sum())
    if n_diverged:
        log.warning("%d of %d images diverged (NaN/inf) in %s", n_diverged, len(x), job.path)

    classifier = load_model(plan, job.model, checkpoints["classifier"])
    recon = result.reconstructions.cpu()
    pixels = data.to_pixels(images.images, spec)
    recon_pixels = data.to_pixels(recon, spec)
    image_error = (recon_pixels - pixels).flatten(1).norm(dim=1) / pixels.flatten(1).norm(
        dim=1
    ).clamp_min(1e-12)
    metrics = {
        "image_id": np.array(images.ids),
        "label": images.labels.numpy(),
        "target_image_id": np.array([images.ids[j] for j in partner.tolist()]),
        "feature_error": result.feature_error.cpu().numpy(),
        "image_error": image_error.numpy(),
        "diverged": result.diverged.cpu().numpy(),
        "label_at_tp": predict(target_net, recon, device).numpy(),
        "label_final": predict(classifier, recon, device).numpy(),
    }
    hyper = {
        "model": job.model,
        "layer": job.layer,
        "module": layer,
        "t": job.t,
        "tp": job.tp,
        "classifier_step": plan.classifier_step(job.model),
        **settings.as_dict(),
    }
    save_npz(
        output,
        reconstructions=recon_pixels.numpy().astype(np.float32),
        originals=pixels.numpy().astype(np.float32),
        settings=np.array(json.dumps(hyper, sort_keys=True)),
        **metrics,
    )
    return metrics


def run_norm_distances(plan: Plan, model: str, layer: str, output: str, threads: int = 1) -> None:
    """Norm distances of ``layer`` at every step that some inversion of it uses."""
    from .distances import norm_distances

    set_threads(threads)
    device = choose_device(plan.config["device"])
    images = data.inversion_images(plan.dataset(model), plan.model(model)["images"])
    module = plan.module_path(model, layer)

    @torch.no_grad()
    def representation(step: str) -> torch.Tensor:
        net = load_model(plan, model, paths.checkpoint(model, step)).to(device)
        return Tap(net, module)(images.images.to(device)).cpu()

    table = norm_distances(
        model,
        layer,
        plan.distance_steps(model, layer),
        representation,
        images.ids,
        images.labels.numpy(),
    )
    with atomic_path(output) as tmp:
        table.to_parquet(tmp, index=False)


def run_invertibility_tables(plan: Plan, inversions: list[str], outputs: dict[str, str]) -> None:
    """The per-image invertibility table, its summary, and the horizons."""
    from .inversion_io import load_inversion
    from .tables import horizons, invertibility_table, summarize

    def per_epoch(path: str) -> int:
        return plan.per_epoch(load_inversion(path, images=False)["model"])

    table = invertibility_table((path, per_epoch(path)) for path in inversions)
    for key, frame in (
        ("table", table),
        ("summary", summarize(table)),
        ("horizons", horizons(table)),
    ):
        with atomic_path(outputs[key]) as tmp:
            frame.to_parquet(tmp, index=False)


def run_claims(plan: Plan, table: str, distances: list[str], output: str) -> None:
    import pandas as pd

    from .claims import evaluate_claims

    frames = [pd.read_parquet(path) for path in distances]
    distance_table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    result = evaluate_claims(plan.claims(), pd.read_parquet(table), distance_table)
    with atomic_path(output) as tmp:
        result.to_csv(tmp, index=False, float_format="%.4g")
