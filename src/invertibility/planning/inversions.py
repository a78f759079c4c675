"""Inversion jobs: one per (model, seed, layer, t) chunk of activation steps ``tp``.

A model's ``invert_chunk`` (steps per batched optimization) decides how its inversions are
split into jobs: with 1, each (seed, layer, t, tp) is its own job (rule ``invert``, a chunk of
one step, its output the step's file); with more, every step of one (seed, layer, t) is one job
(rule ``invert_chunk``, its output the folder of the steps' files, written as if each step had
its own job), inverting ``invert_chunk`` steps at a time. One folder instead of one file per step
spares Snakemake its per-file work at planning: the paper grid is about 66,700 files but 345
folders.
"""

from __future__ import annotations

import copy
import functools
import itertools
from dataclasses import dataclass

from ..core import paths
from ..core.inversion_settings import layer_settings
from ..core.vocabulary import CONTROLS, CROSS_SEED, OTHER_IMAGE
from ..nets.models import layer_depth, network_on_meta
from .check_grids import grids


@dataclass(frozen=True, order=True)
class InversionJob:
    """One inverted step: its file, whichever job writes it."""

    model: str
    seed: int  # training seed: which run's checkpoints
    layer: str  # display name from config
    t: str
    tp: str  # a step label, or a control (OTHER_IMAGE, CROSS_SEED)

    @property
    def path(self) -> str:
        return paths.inversion(self.model, self.seed, self.layer, self.t, self.tp)

    @property
    def folder(self) -> str:
        """Its (model, seed, layer, t) folder: a chunked model's job writes it whole."""
        return paths.inversion_folder(self.model, self.seed, self.layer, self.t)


@dataclass(frozen=True, order=True)
class InversionChunk:
    """The steps one inversion job inverts: every step of one (model, seed, layer, t) of a
    chunked model, or one step (:meth:`alone`)."""

    model: str
    seed: int
    layer: str
    t: str
    tps: tuple[str, ...]

    @classmethod
    def alone(cls, job: InversionJob) -> InversionChunk:
        return cls(job.model, job.seed, job.layer, job.t, (job.tp,))

    @property
    def jobs(self) -> list[InversionJob]:
        return [InversionJob(self.model, self.seed, self.layer, self.t, tp) for tp in self.tps]

    @property
    def folder(self) -> str:
        return paths.inversion_folder(self.model, self.seed, self.layer, self.t)


class InversionJobs:
    def __init__(self, plan):
        self.plan = plan

    @functools.cached_property
    def all(self) -> list[InversionJob]:
        """Every inverted step the config asks for: grids, figures, claims, and their controls."""
        plan = self.plan
        controls = plan.analyses["controls"]
        jobs = set()
        for model, seeds, layers, t, tps in grids(plan.config):
            cross_seed = plan.analyses["cross_seed"] and len(plan.seeds(model)) > 1
            for seed, layer in itertools.product(seeds, layers):
                jobs.update(InversionJob(model, seed, layer, t, tp) for tp in tps)
                if controls:
                    jobs.add(InversionJob(model, seed, layer, t, t))
                    jobs.add(InversionJob(model, seed, layer, t, OTHER_IMAGE))
                    if cross_seed:
                        jobs.add(InversionJob(model, seed, layer, t, CROSS_SEED))
        return sorted(jobs)

    def steps_per_batch(self, model: str) -> int:
        """How many activation steps of one (seed, layer, t) ``model``'s batched optimizations
        invert together (its ``invert_chunk``): 1 is one job per step, more one job per
        (seed, layer, t)."""
        return self.plan.models[model].get("invert_chunk", 1)

    def unchunked_models(self) -> list[str]:
        """The models whose inversions are one job per (seed, layer, t, tp)."""
        return [model for model in self.plan.models if self.steps_per_batch(model) == 1]

    def chunked_models(self) -> list[str]:
        """The models whose inversions are one job per (seed, layer, t)."""
        return [model for model in self.plan.models if self.steps_per_batch(model) > 1]

    @functools.cached_property
    def chunks(self) -> list[InversionChunk]:
        """The chunked models' inversion jobs, one per (seed, layer, t), their steps in step
        order (the controls last)."""
        keys: dict[tuple[str, int, str, str], list[str]] = {}
        for job in self.all:
            if self.steps_per_batch(job.model) > 1:
                keys.setdefault((job.model, job.seed, job.layer, job.t), []).append(job.tp)
        return sorted(
            InversionChunk(*key, tuple(sorted(tps, key=lambda tp: self._tp_order(key[0], tp))))
            for key, tps in keys.items()
        )

    @functools.cached_property
    def _chunks_by_key(self) -> dict[tuple[str, int, str, str], InversionChunk]:
        return {(c.model, c.seed, c.layer, c.t): c for c in self.chunks}

    def chunk(self, model: str, seed: int, layer: str, t: str) -> InversionChunk:
        """The chunk whose job writes the folder of (model, seed, layer, t)."""
        return self._chunks_by_key[model, seed, layer, t]

    def batches(self, chunk: InversionChunk) -> int:
        """How many batched optimizations a chunk's job runs, one after another."""
        return -(-len(chunk.tps) // self.steps_per_batch(chunk.model))

    def targets(self, jobs: list[InversionJob]) -> list[str]:
        """What the DAG must build for ``jobs``' files: each unchunked job's file, and the
        folder of each chunked one's (once), in ``jobs``' order."""
        chunked = set(self.chunked_models())
        return list(dict.fromkeys(job.folder if job.model in chunked else job.path for job in jobs))

    def _tp_order(self, model: str, tp: str) -> tuple[int, int]:
        if tp in CONTROLS:
            return (1, CONTROLS.index(tp))
        return (0, self.plan.step_index(model, tp))

    def cross_seed_partner(self, model: str, seed: int) -> int:
        """The run whose activations the cross-seed control inverts: the next seed, cyclically."""
        seeds = self.plan.seeds(model)
        return seeds[(seeds.index(seed) + 1) % len(seeds)]

    def checkpoints(self, job: InversionJob) -> dict[str, str]:
        """Checkpoint files an inversion reads: the function ``t``, the ``target`` network whose
        activations are inverted (``tp``; another seed's ``t`` for the cross-seed control; none
        for the other-image control), and the classifier."""
        files = {"t": paths.checkpoint(job.model, job.seed, job.t)}
        if job.tp == CROSS_SEED:
            partner = self.cross_seed_partner(job.model, job.seed)
            files["target"] = paths.checkpoint(job.model, partner, job.t)
        elif job.tp != OTHER_IMAGE:
            files["target"] = paths.checkpoint(job.model, job.seed, job.tp)
        classifier = self.plan.classifier_step(job.model)
        files["classifier"] = paths.checkpoint(job.model, job.seed, classifier)
        return files

    def seeds_read(self, chunk: InversionChunk) -> list[int]:
        """The training seeds whose checkpoint folders a chunk's job reads."""
        seeds = [chunk.seed]
        if CROSS_SEED in chunk.tps:
            seeds.append(self.cross_seed_partner(chunk.model, chunk.seed))
        return seeds

    def settings(self, model: str, layer: str) -> dict:
        """The inversion settings ``model``'s jobs at ``layer`` (a display name) use, resolved
        for the layer's depth (the config's ``inversion``, the model's own over it, the TV weight
        and iterations scaled by depth): a plain dict of
        :class:`~invertibility.core.inversion_settings.InversionSettings`' fields, from which
        ``InversionSettings(**settings)`` builds them. Another job inverting this model's layer
        the way its inversion jobs do (the augmentation experiment's windows) reads them here."""
        return copy.deepcopy(self._settings(model, layer)["settings"])  # the cache stays as is

    @functools.cache  # noqa: B019 (one plan per DAG; asked once per job of a 20,000-job grid)
    def _settings(self, model: str, layer: str) -> dict:
        plan = self.plan
        entry = plan.models[model]
        settings = layer_settings(
            {**plan.config["inversion"], **entry.get("inversion", {})},
            layer_depth(network_on_meta(**plan.network_spec(model)), entry["layers"][layer]),
        )
        return {
            "model": model,
            "layer": layer,
            "module": entry["layers"][layer],
            "network": plan.network_spec(model),
            "settings": settings,
            "classifier_step": plan.classifier_step(model),
            "images_fingerprint": plan.images_fingerprint(model),
            "device": plan.config["device"],
        }

    def spec(self, chunk: InversionChunk) -> dict:
        """What a chunk's job needs besides its prepared images: the settings, how many steps
        one batched optimization inverts, and per activation step ``tp``, ``p`` and the
        checkpoint files it reads (inside its model's checkpoint folders, the rule's input)."""
        spec = {
            **self._settings(chunk.model, chunk.layer),
            "seed": chunk.seed,
            "t": chunk.t,
            "targets": [
                {"tp": job.tp, "p": self._p(job), "checkpoints": self.checkpoints(job)}
                for job in chunk.jobs
            ],
        }
        if self.steps_per_batch(chunk.model) > 1:  # one step alone needs no batching
            spec["steps_per_batch"] = self.steps_per_batch(chunk.model)
        return spec

    def _p(self, job: InversionJob) -> int | None:
        if job.tp in CONTROLS:
            return None
        return self.plan.step_index(job.model, job.tp) - self.plan.step_index(job.model, job.t)
