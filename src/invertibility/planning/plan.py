"""The work a resolved config asks for, derived once at DAG build time.

:class:`Plan` takes the output of :func:`invertibility.planning.validation.check_config` and
derives one
training job per model (its checkpoint schedule), one image set per model, one inversion job per
(model, layer, t, tp), the norm-distance jobs, and each figure's inputs. It also builds each job's
*spec*: everything the job needs, resolved, which the rule passes as a param (canonical JSON, so a
change of it reruns exactly that job). A job never sees the config or this planner.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from ..core import paths
from ..core.inversion_settings import layer_settings
from ..core.vocabulary import CONTROLS, CROSS_SEED, OTHER_IMAGE
from ..data import image_sets
from ..nets.models import layer_depth, network_on_meta
from .check_grids import grids
from .check_models import network_spec
from .validation import check_config, step_index


@dataclass(frozen=True, order=True)
class InversionJob:
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
    """All activation steps of one (model, seed, layer, t) of a chunked model: one job, whose
    output is the folder of their files (one per (layer, t, tp), as if each had its own job),
    inverted ``invert_chunk`` steps at a time in one batched optimization each. One folder
    instead of one file per step spares Snakemake its per-file work at planning: the paper grid
    is 66,748 files but 345 folders."""

    model: str
    seed: int
    layer: str
    t: str
    tps: tuple[str, ...]

    @property
    def jobs(self) -> list[InversionJob]:
        return [InversionJob(self.model, self.seed, self.layer, self.t, tp) for tp in self.tps]

    @property
    def folder(self) -> str:
        return paths.inversion_folder(self.model, self.seed, self.layer, self.t)


class Plan:
    def __init__(self, config: dict):
        """``config``: schema-valid; checked and resolved here."""
        self.config = check_config(config)
        self.models = self.config["models"]
        self.analyses = self.config["analyses"]

    # --- models and their schedules -------------------------------------------------------

    def dataset(self, model: str) -> dict:
        return self.config["datasets"][self.models[model]["dataset"]]

    def per_epoch(self, model: str) -> int:
        return self.models[model]["iterations_per_epoch"]

    def step_index(self, model: str, label: str) -> int:
        return step_index(self.models[model], label)

    def schedule(self, model: str) -> list[str]:
        """Step labels whose checkpoints ``model``'s training saves, in training order."""
        return self.models[model]["schedule"]

    def classifier_step(self, model: str) -> str:
        return self.models[model]["classifier_step"]

    # --- inversion jobs ---------------------------------------------------------------------

    def seeds(self, model: str) -> list[int]:
        return self.models[model]["seeds"]

    def runs(self) -> list[tuple[str, int]]:
        """Every training run: (model, seed)."""
        return [(model, seed) for model in self.models for seed in self.seeds(model)]

    def cross_seed_partner(self, model: str, seed: int) -> int:
        """The run whose activations the cross-seed control inverts: the next seed, cyclically."""
        seeds = self.seeds(model)
        return seeds[(seeds.index(seed) + 1) % len(seeds)]

    @functools.cached_property
    def inversion_jobs(self) -> list[InversionJob]:
        controls = self.analyses["controls"]
        jobs = set()
        for model, seeds, layers, t, tps in grids(self.config):
            cross_seed = self.analyses["cross_seed"] and len(self.seeds(model)) > 1
            for seed, layer in itertools.product(seeds, layers):
                jobs.update(InversionJob(model, seed, layer, t, tp) for tp in tps)
                if controls:
                    jobs.add(InversionJob(model, seed, layer, t, t))
                    jobs.add(InversionJob(model, seed, layer, t, OTHER_IMAGE))
                    if cross_seed:
                        jobs.add(InversionJob(model, seed, layer, t, CROSS_SEED))
        return sorted(jobs)

    def invert_chunk(self, model: str) -> int:
        """How many activation steps of one (seed, layer, t) ``model``'s batched optimizations
        invert together: 1 is one job per (seed, layer, t, tp); more, one job per (seed,
        layer, t) (see :class:`InversionChunk`)."""
        return self.models[model].get("invert_chunk", 1)

    def unchunked_models(self) -> list[str]:
        """The models whose inversions are one job per (seed, layer, t, tp)."""
        return [model for model in self.models if self.invert_chunk(model) == 1]

    def chunked_models(self) -> list[str]:
        """The models whose inversions are one job per (seed, layer, t)."""
        return [model for model in self.models if self.invert_chunk(model) > 1]

    @functools.cached_property
    def inversion_chunks(self) -> list[InversionChunk]:
        """The chunked models' inversion jobs, one per (seed, layer, t), their steps in step
        order (the controls last)."""
        keys: dict[tuple[str, int, str, str], list[str]] = {}
        for job in self.inversion_jobs:
            if self.invert_chunk(job.model) > 1:
                keys.setdefault((job.model, job.seed, job.layer, job.t), []).append(job.tp)
        return sorted(
            InversionChunk(*key, tuple(sorted(tps, key=lambda tp: self._tp_order(key[0], tp))))
            for key, tps in keys.items()
        )

    @functools.cached_property
    def _chunks_by_key(self) -> dict[tuple[str, int, str, str], InversionChunk]:
        return {(c.model, c.seed, c.layer, c.t): c for c in self.inversion_chunks}

    def chunk(self, model: str, seed: int, layer: str, t: str) -> InversionChunk:
        """The chunk whose job writes the folder of (model, seed, layer, t)."""
        return self._chunks_by_key[model, seed, layer, t]

    def inversion_batches(self, chunk: InversionChunk) -> int:
        """How many batched optimizations a chunk's job runs, one after another."""
        return -(-len(chunk.tps) // self.invert_chunk(chunk.model))

    def inversion_targets(self, jobs: list[InversionJob]) -> list[str]:
        """What the DAG must build for ``jobs``' files: each unchunked job's file, and the
        folder of each chunked one's (once), in ``jobs``' order."""
        chunked = set(self.chunked_models())
        return list(dict.fromkeys(job.folder if job.model in chunked else job.path for job in jobs))

    def _tp_order(self, model: str, tp: str) -> tuple[int, int]:
        if tp in CONTROLS:
            return (1, CONTROLS.index(tp))
        return (0, self.step_index(model, tp))

    def inversion_checkpoints(self, job: InversionJob) -> dict[str, str]:
        """Checkpoint files an inversion reads: the function ``t``, the ``target`` network whose
        activations are inverted (``tp``; another seed's ``t`` for the cross-seed control; none
        for the other-image control), and the classifier."""
        files = {"t": paths.checkpoint(job.model, job.seed, job.t)}
        if job.tp == CROSS_SEED:
            partner = self.cross_seed_partner(job.model, job.seed)
            files["target"] = paths.checkpoint(job.model, partner, job.t)
        elif job.tp != OTHER_IMAGE:
            files["target"] = paths.checkpoint(job.model, job.seed, job.tp)
        classifier = self.classifier_step(job.model)
        files["classifier"] = paths.checkpoint(job.model, job.seed, classifier)
        return files

    def inversion_runs(self, jobs: InversionJob | InversionChunk) -> list[int]:
        """The training seeds whose checkpoint folders a job (or a chunk) reads."""
        seeds = [jobs.seed]
        tps = jobs.tps if isinstance(jobs, InversionChunk) else [jobs.tp]
        if CROSS_SEED in tps:
            seeds.append(self.cross_seed_partner(jobs.model, jobs.seed))
        return seeds

    @functools.cache  # noqa: B019 (one Plan per DAG; asked once per job of a 20,000-job grid)
    def _inversion_base(self, model: str, layer: str) -> dict:
        spec = self.models[model]
        settings = layer_settings(
            {**self.config["inversion"], **spec.get("inversion", {})},
            layer_depth(network_on_meta(**self.network(model)), spec["layers"][layer]),
        )
        return {
            "model": model,
            "layer": layer,
            "module": spec["layers"][layer],
            "network": self.network(model),
            "settings": settings,
            "classifier_step": self.classifier_step(model),
            "images_fingerprint": self.images_fingerprint(model),
            "device": self.config["device"],
        }

    def inversion_spec(self, jobs: InversionJob | InversionChunk) -> dict:
        """What an inversion job needs besides its prepared images: the settings and, per
        activation step it inverts (one, or a chunk's), ``tp``, ``p`` and the checkpoint files it
        reads (inside its model's checkpoint folders, the rule's input); a chunk's also says how
        many steps one batched optimization inverts."""
        batch = {}
        if isinstance(jobs, InversionChunk):
            batch = {"steps_per_batch": self.invert_chunk(jobs.model)}
            jobs = jobs.jobs
        else:
            jobs = [jobs]
        first = jobs[0]
        return {
            **self._inversion_base(first.model, first.layer),
            **batch,
            "seed": first.seed,
            "t": first.t,
            "targets": [
                {
                    "tp": job.tp,
                    "p": self._p(job),
                    "checkpoints": self.inversion_checkpoints(job),
                }
                for job in jobs
            ],
        }

    def _p(self, job: InversionJob) -> int | None:
        if job.tp in CONTROLS:
            return None
        return self.step_index(job.model, job.tp) - self.step_index(job.model, job.t)

    # --- the label judges -----------------------------------------------------------------

    def judged_datasets(self) -> list[str]:
        """The datasets with a label judge and an inverted model."""
        judged = self.analyses["label_judges"]
        return sorted({self.models[j.model]["dataset"] for j in self.inversion_jobs} & set(judged))

    def judged_inversions(self, dataset: str) -> list[str]:
        """The inversion files and chunk folders of the models on ``dataset``."""
        jobs = [j for j in self.inversion_jobs if self.models[j.model]["dataset"] == dataset]
        return self.inversion_targets(jobs)

    def judge_spec(self, dataset: str) -> dict:
        judge = self.analyses["label_judges"][dataset]
        return {
            **judge,
            "dataset": dataset,
            "network": self.network(judge["model"]),
            "checkpoint": paths.checkpoint(judge["model"], judge["seed"], judge["step"]),
            "mean": self.config["datasets"][dataset]["mean"],
            "std": self.config["datasets"][dataset]["std"],
            "device": self.config["device"],
        }

    # --- training and images --------------------------------------------------------------

    @functools.cache  # noqa: B019
    def network(self, model: str) -> dict:
        return network_spec(self.models[model], self.dataset(model))

    def training_spec(self, model: str, seed: int) -> dict:
        """Everything that determines a run's checkpoints: the model's own config entry, its
        dataset and the seed, never a figure, grid or claim."""
        spec = self.models[model]
        train = spec["train"]
        last = max(self.step_index(model, s) for s in self.schedule(model))
        if train.get("train_to_end"):
            last = train.get("epochs", 90) * self.per_epoch(model)
        return {
            "model": model,
            "network": self.network(model),
            "dataset": self.dataset(model),
            "train": {**train, "seed": seed},
            "schedule": [
                (s, self.step_index(model, s), paths.checkpoint(model, seed, s))
                for s in self.schedule(model)
            ],
            "iterations_per_epoch": self.per_epoch(model),
            "last_step": last,
            "device": self.config["device"],
        }

    def image_selection(self, model: str) -> dict:
        """Which images a model's jobs invert, and the held-out images its controls and the
        identification measure draw on."""
        return {
            **self.models[model]["images"],
            "partners": self.analyses["partners"],
            "candidates": self.analyses["candidates"],
        }

    def images_spec(self, model: str) -> dict:
        return {"dataset": self.dataset(model), "selection": self.image_selection(model)}

    @functools.cache  # noqa: B019
    def images_fingerprint(self, model: str) -> str:
        return image_sets.fingerprint(self.dataset(model), self.image_selection(model))

    # --- norm distances ---------------------------------------------------------------------

    def distance_jobs(self) -> list[tuple[str, int, str]]:
        """(model, seed, layer) of every norm-distance table: each analyses.distances entry, for
        every seed whose inversions of that layer exist."""
        jobs = []
        for entry in self.analyses["distances"]:
            model, layer = entry["model"], entry["layer"]
            jobs_here = [j for j in self.inversion_jobs if (j.model, j.layer) == (model, layer)]
            seeds = sorted({j.seed for j in jobs_here})
            jobs += [(model, seed, layer) for seed in seeds]
        return jobs

    def distance_steps(self, model: str, seed: int, layer: str) -> dict[str, list[str]]:
        """Function step -> activation steps inverted for (model, seed, layer), in step order."""
        steps: dict[str, set[str]] = {}
        for job in self.inversion_jobs:
            if (job.model, job.seed, job.layer) == (model, seed, layer) and job.tp not in CONTROLS:
                steps.setdefault(job.t, set()).add(job.tp)

        def order(step: str) -> int:
            return self.step_index(model, step)

        return {t: sorted(steps[t], key=order) for t in sorted(steps, key=order)}

    def distance_spec(self, model: str, seed: int, layer: str) -> dict:
        steps = self.distance_steps(model, seed, layer)
        needed = {s for t, tps in steps.items() for s in (t, *tps)}
        return {
            "model": model,
            "seed": seed,
            "layer": layer,
            "module": self.models[model]["layers"][layer],
            "network": self.network(model),
            "steps": steps,
            "checkpoints": {
                s: paths.checkpoint(model, seed, s)
                for s in sorted(needed, key=lambda s: self.step_index(model, s))
            },
            "images_fingerprint": self.images_fingerprint(model),
            "device": self.config["device"],
        }

    # --- diagnostics: redundancy, drift, representation change -----------------------------

    @functools.cached_property
    def _diagnostic_pairs(self) -> dict[tuple[str, int], set[tuple[str, str, str]]]:
        """(model, seed) -> the (layer, t, tp > t) that figures and grids invert."""
        pairs: dict[tuple[str, int], set[tuple[str, str, str]]] = {}
        for job in self.inversion_jobs:
            if job.tp in CONTROLS or job.tp == job.t:
                continue
            pairs.setdefault((job.model, job.seed), set()).add((job.layer, job.t, job.tp))
        return pairs

    def diagnostics_runs(self) -> list[tuple[str, int]]:
        """The training runs with a diagnostics job: those with an inverted (layer, t, tp > t)."""
        return sorted(self._diagnostic_pairs)

    def distance_tables(self) -> list[str]:
        return [paths.norm_distances(m, seed, layer) for m, seed, layer in self.distance_jobs()]

    def diagnostics_tables(self, kind: str) -> list[str]:
        """The diagnostics jobs' ``weights`` or ``similarity`` tables, one per training run."""
        return [paths.diagnostics(m, seed, kind) for m, seed in self.diagnostics_runs()]

    def block_diagnostics_tables(self) -> list[str]:
        """The per-block training diagnostics, one per training run."""
        return [paths.block_diagnostics(m, seed) for m, seed in self.runs()]

    def diagnostics_spec(self, model: str, seed: int) -> dict:
        pairs = sorted(self._diagnostic_pairs[model, seed])
        modules = self.models[model]["layers"]
        return {
            "model": model,
            "seed": seed,
            "network": self.network(model),
            "layers": {layer: modules[layer] for layer in sorted({p[0] for p in pairs})},
            "pairs": [list(pair) for pair in pairs],
            "schedule": [(s, self.step_index(model, s)) for s in self.schedule(model)],
            "checkpoints": {s: paths.checkpoint(model, seed, s) for s in self.schedule(model)},
            "images_fingerprint": self.images_fingerprint(model),
            "device": self.config["device"],
        }

    # --- figures and claims -----------------------------------------------------------------

    def figure_names(self, kind: str | None = None) -> list[str]:
        figures = self.config["figures"]
        return [name for name, spec in figures.items() if kind in (None, spec["kind"])]

    def figure_jobs(self, figure: str) -> list[InversionJob]:
        jobs = []
        for panel in self.config["figures"][figure]["panels"]:
            seed = panel.get("seed", self.seeds(panel["model"])[0])
            for layer in panel["layers"]:
                jobs += [
                    InversionJob(panel["model"], seed, layer, panel["function"], tp)
                    for tp in panel["activations"]
                ]
        return jobs

    def widths(self, figure: str) -> dict[str, int]:
        """A width_horizons figure's MLPs and the width of each one's first hidden layer."""
        return {m: self.models[m]["hidden"][0] for m in self.config["figures"][figure]["models"]}

    def claims(self) -> list[dict]:
        return self.analyses["claims"]
