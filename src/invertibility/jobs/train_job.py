"""One training job: train a model with seeded SGD and save its checkpoint schedule, from the
resolved spec its rule passes (see :meth:`invertibility.planning.training.TrainingJobs.spec`)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd
import torch

from ..core.atomic import atomic_path
from ..core.vocabulary import canonical
from ..data.datasets import holdout_set, training_set
from ..methods.block_probe import BLOCK_COLUMNS
from ..methods.grad_ratio import GRAD_IMAGES, saved_step_ratios
from ..methods.resume import ResumeState, deadline
from ..methods.training import settings_of, train
from ..nets.checkpoints import save_checkpoint
from ..nets.models import build_model
from ..nets.scope import WHOLE, tensors_for
from .device import start_job

log = logging.getLogger(__name__)

GRADIENT_COLUMNS = {
    "model": "string",
    "seed": "int64",
    "step": "string",
    "index": "int64",
    "layer": "string",
    "grad_ratio_below": "float64",  # methods.grad_ratio, on the first GRAD_IMAGES held-out
}


@torch.no_grad()
def holdout_accuracy(net: torch.nn.Module, held, device, batch: int = 256) -> float:
    """Accuracy on the held-out images (eval mode; the training mode is restored)."""
    was_training = net.training
    net.eval()
    correct = 0
    for images, labels in zip(held.images.split(batch), held.labels.split(batch), strict=True):
        correct += int((net(images.to(device)).argmax(1).cpu() == labels).sum())
    net.train(was_training)
    return correct / len(held.labels)


def run_training(
    spec: dict,
    table: str,
    accuracy_table: str,
    blocks_table: str,
    gradients_table: str,
    state: str | None = None,
    code: str = "",
    state_every_s: float = 600.0,
    runtime_minutes: float | None = None,
    stop_margin_s: float = 600.0,
    threads: int = 1,
    jobs_per_gpu: int = 1,
    progress: bool = True,
) -> None:
    """Write the checkpoint of every ``spec['schedule']`` entry (label, step index, path): whole
    at ``spec['whole_steps']``, the tensors the declared layers depend on at the others
    (:mod:`invertibility.nets.scope`); the per-step training table, the held-out accuracy and
    the gradient ratio below each layer (:mod:`invertibility.methods.grad_ratio`) of every
    checkpoint, and the per-block diagnostics (:mod:`invertibility.methods.block_probe`).

    With a ``state`` folder, the training is resumable (:mod:`invertibility.methods.resume`):
    it writes its state there every ``state_every_s`` seconds, keyed to the spec and ``code``;
    under SLURM it stops ``stop_margin_s`` seconds before ``runtime_minutes`` (its limit);
    a rerun goes on from the state."""
    stop_at = deadline(runtime_minutes, stop_margin_s)  # counted from here: the job's start
    seed = spec["train"]["seed"]
    device = start_job(threads, spec["device"], jobs_per_gpu, seed=seed)
    by_index: dict[int, list[tuple[str, str]]] = {}
    for label, index, path in spec["schedule"]:
        by_index.setdefault(index, []).append((label, path))
    net = build_model(**spec["network"])
    held = holdout_set(spec["dataset"])
    grad_batch = (
        held.images[:GRAD_IMAGES].contiguous().to(device),
        held.labels[:GRAD_IMAGES].to(torch.int64).to(device),
    )
    layer_keys = tensors_for(spec["network"], list(spec["layers"].values()))
    scope = ",".join(spec["layers"].values())
    resume = None
    if state is not None:
        resume = ResumeState(
            state,
            key=hashlib.sha256((canonical(spec) + code).encode()).hexdigest(),
            every_seconds=state_every_s,
            stop_at=stop_at,
        )
    accuracy = resume.keep("accuracy") if resume else []
    probes = resume.keep("probes") if resume else []
    gradients = resume.keep("gradients") if resume else []

    def on_probe(index: int, rows: list[dict]) -> None:
        probes.extend({"model": spec["model"], "seed": seed, "step": index, **r} for r in rows)

    def save(net_, index: int) -> None:
        correct = holdout_accuracy(net_, held, device)
        ratios = saved_step_ratios(net_, spec["layers"], *grad_batch)
        for label, path in by_index[index]:
            written = resume.staged(path) if resume else path
            whole = label in spec["whole_steps"]
            metadata = {"model": spec["model"], "step": label, "index": index}
            metadata["scope"] = WHOLE if whole else scope
            save_checkpoint(net_, written, metadata, None if whole else layer_keys)
            accuracy.append((spec["model"], seed, label, index, correct))
            gradients.extend((spec["model"], seed, label, index, *pair) for pair in ratios.items())
            log.info(
                "saved %s (step %d, %s, held-out accuracy %.3f)",
                path,
                index,
                "whole" if whole else f"layers {scope}",
                correct,
            )

    settings = settings_of(spec["train"])
    log.info(
        "training %s on %s up to step %d (%d iterations per epoch)",
        spec["model"],
        device,
        spec["last_step"],
        spec["iterations_per_epoch"],
    )
    history = train(
        net,
        training_set(spec["dataset"]),
        settings,
        by_index,
        spec["iterations_per_epoch"],
        save,
        device,
        last_step=spec["last_step"],
        progress=progress,
        on_probe=on_probe,
        resume=resume,
    )
    with atomic_path(table) as tmp:
        history.to_parquet(tmp, index=False)
    columns = ["model", "seed", "step", "index", "holdout_accuracy"]
    with atomic_path(accuracy_table) as tmp:
        pd.DataFrame(accuracy, columns=columns).to_parquet(tmp, index=False)
    with atomic_path(gradients_table) as tmp:
        ratios_table = pd.DataFrame(gradients, columns=list(GRADIENT_COLUMNS))
        ratios_table.astype(GRADIENT_COLUMNS).to_parquet(tmp, index=False)
    with atomic_path(blocks_table) as tmp:
        blocks = pd.DataFrame(probes, columns=list(BLOCK_COLUMNS)).astype(BLOCK_COLUMNS)
        blocks.to_parquet(tmp, index=False)
    if resume:  # last: until the checkpoints are in place, a rerun still finds its state
        resume.finish({resume.staged(path): Path(path) for _, _, path in spec["schedule"]})
