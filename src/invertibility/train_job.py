"""One training job: train a model with seeded SGD and save its checkpoint schedule, from the
resolved spec its rule passes (see :meth:`invertibility.plan.Plan.training_spec`)."""

from __future__ import annotations

import logging

from .atomic import atomic_path
from .checkpoints import save_checkpoint
from .data import training_set
from .device import choose_device, seed_everything, set_threads
from .models import build_model
from .training import TrainSettings, train

log = logging.getLogger(__name__)


def run_training(spec: dict, table: str, threads: int = 1, progress: bool = True) -> None:
    """Write the checkpoint of every ``spec['schedule']`` entry (label, step index, path) and
    the per-step training table."""
    set_threads(threads)
    device = choose_device(spec["device"])
    by_index: dict[int, list[tuple[str, str]]] = {}
    for label, index, path in spec["schedule"]:
        by_index.setdefault(index, []).append((label, path))
    seed_everything(spec["train"]["seed"])
    net = build_model(**spec["network"])

    def save(net_, index: int) -> None:
        for label, path in by_index[index]:
            save_checkpoint(net_, path, {"model": spec["model"], "step": label, "index": index})
            log.info("saved %s (step %d)", path, index)

    fields = TrainSettings.__dataclass_fields__
    settings = TrainSettings(**{k: v for k, v in spec["train"].items() if k in fields})
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
    )
    with atomic_path(table) as tmp:
        history.to_parquet(tmp, index=False)
