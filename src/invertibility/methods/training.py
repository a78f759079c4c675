"""Seeded SGD training that saves checkpoints at exactly the steps that are needed."""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler
from tqdm.auto import tqdm

from ..core.errors import TrainingDiverged
from ..core.steps import step_from_index
from .block_probe import BlockProbe
from .repeatable import seed_everything
from .resume import ResumeState, TrainingStopped, random_states, set_random_states

log = logging.getLogger(__name__)

POSTFIX_EVERY = 50  # steps between the progress bar's loss readings (each one a device sync)


@dataclass(frozen=True)
class TrainSettings:
    lr: float
    momentum: float
    batch_size: int
    seed: int
    weight_decay: float = 0.0
    lr_step_epochs: int = 30
    lr_gamma: float = 0.1
    workers: int = 0
    diagnostics_every: int = 10  # probe the blocks every this many steps (and at saved steps)


def settings_of(train: dict) -> TrainSettings:
    """A resolved spec's ``train`` entry (its seed included) as settings; keys that shape the
    run elsewhere (epochs, train_to_end, optimizer) are left out."""
    return TrainSettings(
        **{k: v for k, v in train.items() if k in TrainSettings.__dataclass_fields__}
    )


TRAINING_COLUMNS = {
    "step": "int64",  # global optimizer step (0 = initialization)
    "epoch": "int64",
    "iteration": "int64",
    "lr": "float64",
    "loss": "float64",  # mini-batch cross-entropy
    "accuracy": "float64",  # mini-batch accuracy
}


class ResumableSampler(RandomSampler):
    """The DataLoader's shuffling (the same draws from its generator, so the same order), able
    to start an epoch part-way: ``skip`` indices are passed over, not loaded."""

    skip = 0

    def __iter__(self):
        skip, self.skip = self.skip, 0
        return itertools.islice(super().__iter__(), skip, None)


class EpochSeeded(Dataset):
    """A dataset whose images get random transforms (an ImageNet crop and flip, its
    ``random_transforms`` true), each image's drawn from a generator seeded by (seed, epoch,
    index) alone: the same draws whichever loader worker reads it and after a resume part-way
    through an epoch (a worker's own stream would not repeat). The process's own generator is
    left as it was. ``epoch`` is set before each epoch's loader starts its workers."""

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset, self.seed, self.epoch = dataset, seed, 0

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        with torch.random.fork_rng(devices=[]):
            # the CPU generator keeps 32 bits of a seed: distinct for every (epoch, index) of a
            # run with fewer than 2**21 images (ImageNet's 1.28 M) and 2**11 epochs
            torch.manual_seed((self.seed * 2_654_435_761 + self.epoch * 2**21 + index) % 2**32)
            return self.dataset[index]


def _random_transforms(dataset: Dataset) -> bool:
    return bool(getattr(dataset, "random_transforms", False))


def check_finite(
    model: nn.Module, batch_stats: list[torch.Tensor], since: int, step: int, per_epoch: int
) -> None:
    """Raise :class:`TrainingDiverged` if a loss of the optimizer steps after ``since``
    (``batch_stats[i]`` is step ``i + 1``'s, the forward pass of the weights after step ``i``)
    or a floating tensor of the network after ``step`` (weights and buffers, such as batch
    norm's running statistics) is not finite. Called where the training reads the device anyway
    (before a save and a state write), so that no checkpoint or state holds a NaN network."""
    advice = (
        "lower the model's train.lr: a network without batch norm can overflow in its first "
        "steps at a rate another trains at (docs/running.md)"
    )
    if len(batch_stats) > since:
        losses = torch.stack(batch_stats[since:])[:, 0]
        bad = (~torch.isfinite(losses)).nonzero()
        if len(bad):
            first = int(bad[0])
            weights = step_from_index(since + first, per_epoch)
            raise TrainingDiverged(
                f"the training loss is {losses[first].item()} at optimizer step "
                f"{since + first + 1} (the forward pass of the weights {weights}): {advice}"
            )
    tensors = model.state_dict().items()
    bad_tensors = [n for n, t in tensors if t.is_floating_point() and not t.isfinite().all()]
    if bad_tensors:
        raise TrainingDiverged(
            f"the network after step {step_from_index(step, per_epoch)} (optimizer step {step}) "
            f"holds non-finite values in {', '.join(bad_tensors[:5])}: {advice}"
        )


def train(
    model: nn.Module,
    dataset: Dataset,
    settings: TrainSettings,
    save_at: Iterable[int],
    per_epoch: int,
    save: Callable[[nn.Module, int], None],
    device: torch.device,
    last_step: int | None = None,
    progress: bool = True,
    on_probe: Callable[[int, list[dict]], None] | None = None,
    on_saved: Callable[[nn.Module, torch.optim.Optimizer, int], None] | None = None,
    resume: ResumeState | None = None,
) -> pd.DataFrame:
    """Train until ``last_step`` (default: the last of ``save_at``), calling ``save(model, step)``
    at each global step in ``save_at``, and ``on_probe(step, rows)`` with the block diagnostics
    (:mod:`invertibility.methods.block_probe`) of the pass that starts from the weights after
    ``step``
    steps, for every ``settings.diagnostics_every``-th step and every saved one, and
    ``on_saved(model, optimizer, step)`` after each save (an experiment that continues from a
    saved step keeps the optimizer's momentum). With ``resume``, the training goes on from its
    state if it has one, writes it when it is due, and stops (:class:`TrainingStopped`) at its
    deadline. Returns the per-step loss/accuracy table."""
    save_at = set(save_at)
    last_step = max(save_at) if last_step is None else last_step
    seed_everything(settings.seed)
    model.to(device).train()
    generator = torch.Generator().manual_seed(settings.seed)
    sampler = ResumableSampler(dataset, generator=generator)
    # only a dataset with random transforms pays for seeding each image (a fork of the generator)
    seeded = EpochSeeded(dataset, settings.seed) if _random_transforms(dataset) else None
    loader = DataLoader(
        seeded or dataset,
        batch_size=settings.batch_size,
        sampler=sampler,
        generator=generator,  # the workers' base seed, drawn from it each epoch
        num_workers=settings.workers,
        pin_memory=device.type == "cuda",
    )
    # fused: one kernel per parameter for the whole update (momentum, decay, step), instead of
    # a pass per operation (bench/train_step.py)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=settings.lr,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
        fused=True,
    )
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=settings.lr_step_epochs, gamma=settings.lr_gamma
    )
    rows = []
    batch_stats = []  # (loss, accuracy) of each step, as device tensors
    checked = 0  # batch_stats[:checked] are known to be finite
    step = epoch = done = 0  # done: the batches of this epoch already trained on
    if resume is not None and resume.state is not None:
        state = resume.state
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_random_states(state["random"])
        generator.set_state(state["epoch_generator"])
        step, epoch, done = state["step"], state["epoch"], state["done"]
        rows = [tuple(row) for row in state["rows"]]
        batch_stats = list(state["batch_stats"].to(device).unbind())
        sampler.skip = done * settings.batch_size
        log.info("resumed at step %d (epoch %d, batch %d)", step, epoch, done)
    elif step in save_at:
        save(model, step)
        if on_saved is not None:
            on_saved(model, optimizer, step)
    bar = tqdm(total=last_step, initial=step, desc="train", disable=not progress, mininterval=2)
    while step < last_step:
        epoch_generator = generator.get_state()  # the epoch's order is drawn from here
        if seeded is not None:
            seeded.epoch = epoch
        for iteration, (images, labels) in enumerate(loader, start=done + 1):
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad(set_to_none=True)
            probed = on_probe is not None and (
                step % settings.diagnostics_every == 0 or step in save_at
            )
            with BlockProbe(model) if probed else contextlib.nullcontext() as probe:
                logits = model(images)
                loss = F.cross_entropy(logits, labels)
                loss.backward()
            if probed:
                on_probe(step, probe.rows())
            optimizer.step()
            step += 1
            # kept on the device: reading them now would make a GPU wait for every step
            rows.append((step, epoch, iteration, optimizer.param_groups[0]["lr"]))
            batch_stats.append(
                torch.stack([loss.detach(), (logits.argmax(1) == labels).float().mean()])
            )
            bar.update()
            if step % POSTFIX_EVERY == 0:
                bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}", refresh=False)
            if step in save_at:
                check_finite(model, batch_stats, checked, step, per_epoch)
                checked = len(batch_stats)
                save(model, step)
                if on_saved is not None:
                    on_saved(model, optimizer, step)
            # never at an epoch's last batch: a resume there would step the schedule first
            last_of_epoch = iteration == len(loader)
            if resume is not None and step < last_step and not last_of_epoch and resume.due():
                check_finite(model, batch_stats, checked, step, per_epoch)
                checked = len(batch_stats)
                resume.write(
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "random": random_states(),
                        "epoch_generator": epoch_generator,
                        "step": step,
                        "epoch": epoch,
                        "done": iteration,
                        "rows": rows,
                        "batch_stats": torch.stack(batch_stats).cpu(),
                    }
                )
                if resume.out_of_time():
                    bar.close()
                    raise TrainingStopped(
                        f"stopped at step {step} of {last_step}, before the job's time limit; "
                        f"its state is saved in {resume.folder}: rerunning the job resumes it"
                    )
            if step >= last_step:
                break
        done = 0
        scheduler.step()
        epoch += 1
    bar.close()
    check_finite(model, batch_stats, checked, step, per_epoch)
    table = pd.DataFrame(rows, columns=list(TRAINING_COLUMNS)[:4])
    if batch_stats:  # one transfer for the whole run
        table[["loss", "accuracy"]] = torch.stack(batch_stats).double().cpu().numpy()
    else:
        table[["loss", "accuracy"]] = 0.0
    return table.astype(TRAINING_COLUMNS)
