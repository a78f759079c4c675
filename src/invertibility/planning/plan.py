"""The work a config asks for, derived once at DAG build time, one module per job family.

:class:`Plan` checks and resolves the config (:func:`.validation.check_config`) and knows what
every family reads: a model's dataset, checkpoint schedule, seeds, network and images. Each job
family lists its jobs, builds each job's *spec* (everything the job needs, resolved, which the
rule passes as a param: canonical JSON, so that a change of it reruns exactly that job) and the
files the DAG must build:

* ``plan.training`` (:mod:`.training`): one job per (model, seed);
* ``plan.inversions`` (:mod:`.inversions`): one per (model, seed, layer, t) chunk of steps;
* ``plan.distances`` (:mod:`.distances`), ``plan.diagnostics`` (:mod:`.diagnostics`),
  ``plan.judges`` (:mod:`.judges`), ``plan.figures`` (:mod:`.figures`);
* ``plan.experiments`` (:mod:`.experiments`): each experiment family's, e.g.
  ``plan.experiments["augmentation"]`` (:mod:`.augmentation`): one per seed of its model.

A job never sees the config or this planner.
"""

from __future__ import annotations

import functools

from ..data import image_sets
from .check_models import network_spec
from .diagnostics import DiagnosticsJobs
from .distances import DistanceJobs
from .experiments import Experiments
from .figures import FigureJobs
from .inversions import InversionChunk, InversionJob, InversionJobs
from .judges import JudgeJobs
from .training import TrainingJobs
from .validation import check_config, step_index

__all__ = ["InversionChunk", "InversionJob", "Plan"]


class Plan:
    def __init__(self, config: dict):
        """``config``: schema-valid; checked and resolved here."""
        self.config = check_config(config)
        self.models = self.config["models"]
        self.analyses = self.config["analyses"]
        self.training = TrainingJobs(self)
        self.inversions = InversionJobs(self)
        self.distances = DistanceJobs(self)
        self.diagnostics = DiagnosticsJobs(self)
        self.judges = JudgeJobs(self)
        self.figures = FigureJobs(self)
        self.experiments = Experiments(self)

    # --- a model's facts, which every family reads -------------------------------------------

    def dataset(self, model: str) -> dict:
        return self.config["datasets"][self.models[model]["dataset"]]

    def dataset_for(self, model: str, seed: int) -> dict:
        """The dataset entry a (model, seed) run reads: with a per-seed ``split``, the seed
        that draws it (``split_seed``)."""
        dataset = self.dataset(model)
        return {**dataset, "split_seed": seed} if "split" in dataset else dataset

    def per_epoch(self, model: str) -> int:
        return self.models[model]["iterations_per_epoch"]

    def step_index(self, model: str, label: str) -> int:
        return step_index(self.models[model], label)

    def schedule(self, model: str) -> list[str]:
        """Step labels whose checkpoints ``model``'s training saves, in training order."""
        return self.models[model]["schedule"]

    def classifier_step(self, model: str) -> str:
        return self.models[model]["classifier_step"]

    def seeds(self, model: str) -> list[int]:
        return self.models[model]["seeds"]

    def runs(self) -> list[tuple[str, int]]:
        """Every training run: (model, seed)."""
        return [(model, seed) for model in self.models for seed in self.seeds(model)]

    @functools.cache  # noqa: B019 (one Plan per DAG)
    def network_spec(self, model: str) -> dict:
        """The keyword arguments that build ``model``'s network."""
        return network_spec(self.models[model], self.dataset(model))

    # --- the images a model's jobs invert (rule prepare_images) -------------------------------

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

    def claims(self) -> list[dict]:
        """Every claim: the paper's (``analyses.claims``), then each experiment family's, marked
        with its family (a Holm family of its own)."""
        return self.analyses["claims"] + self.experiments.claims()
