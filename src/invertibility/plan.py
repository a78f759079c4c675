"""The work a resolved config asks for, derived once at DAG build time.

:class:`Plan` takes the output of :func:`invertibility.validation.check_config` and derives one
training job per model (its checkpoint schedule), one image set per model, one inversion job per
(model, layer, t, tp), the norm-distance jobs, and each figure's inputs. It also builds each job's
*spec*: everything the job needs, resolved, which the rule passes as a param (canonical JSON, so a
change of it reruns exactly that job). A job never sees the config or this planner.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from . import image_sets, paths
from .validation import check_config, grids, network_spec, step_index
from .vocabulary import OTHER_IMAGE


@dataclass(frozen=True, order=True)
class InversionJob:
    model: str
    layer: str  # display name from config
    t: str
    tp: str  # a step label, or OTHER_IMAGE (control: Phi0 = r_l^t of an image of another class)

    @property
    def path(self) -> str:
        return paths.inversion(self.model, self.layer, self.t, self.tp)


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

    def trained_models(self) -> list[str]:
        return list(self.models)

    # --- inversion jobs ---------------------------------------------------------------------

    @functools.cached_property
    def inversion_jobs(self) -> list[InversionJob]:
        controls = self.analyses.get("controls", True)
        jobs = set()
        for model, layers, t, tps in grids(self.config):
            for layer in layers:
                jobs.update(InversionJob(model, layer, t, tp) for tp in tps)
                if controls:
                    jobs.add(InversionJob(model, layer, t, t))
                    jobs.add(InversionJob(model, layer, t, OTHER_IMAGE))
        return sorted(jobs)

    def inversion_checkpoints(self, job: InversionJob) -> dict[str, str]:
        """Checkpoint files an inversion reads: function t, target tp, and the classifier."""
        files = {"t": paths.checkpoint(job.model, job.t)}
        if job.tp != OTHER_IMAGE:
            files["tp"] = paths.checkpoint(job.model, job.tp)
        files["classifier"] = paths.checkpoint(job.model, self.classifier_step(job.model))
        return files

    @functools.cache  # noqa: B019 (one Plan per DAG; asked once per job of a 20,000-job grid)
    def _inversion_base(self, model: str, layer: str) -> dict:
        spec = self.models[model]
        settings = {**self.config["inversion"], **spec.get("inversion", {})}
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

    def inversion_spec(self, job: InversionJob) -> dict:
        """What an inversion job needs besides its prepared images: the checkpoint files it
        reads (inside its model's checkpoint folder, the rule's input), p, and the settings."""
        p = None
        if job.tp != OTHER_IMAGE:
            p = self.step_index(job.model, job.tp) - self.step_index(job.model, job.t)
        return {
            **self._inversion_base(job.model, job.layer),
            "t": job.t,
            "tp": job.tp,
            "p": p,
            "checkpoints": self.inversion_checkpoints(job),
        }

    # --- training and images --------------------------------------------------------------

    @functools.cache  # noqa: B019
    def network(self, model: str) -> dict:
        return network_spec(self.models[model], self.dataset(model))

    @functools.cache  # noqa: B019
    def training_spec(self, model: str) -> dict:
        """Everything that determines a model's checkpoints: its own config entry and dataset,
        never a figure, grid or claim."""
        spec = self.models[model]
        train = spec["train"]
        last = max(self.step_index(model, s) for s in self.schedule(model))
        if train.get("train_to_end"):
            last = train.get("epochs", 90) * self.per_epoch(model)
        return {
            "model": model,
            "network": self.network(model),
            "dataset": self.dataset(model),
            "train": train,
            "schedule": [
                (s, self.step_index(model, s), paths.checkpoint(model, s))
                for s in self.schedule(model)
            ],
            "iterations_per_epoch": self.per_epoch(model),
            "last_step": last,
            "device": self.config["device"],
        }

    def images_spec(self, model: str) -> dict:
        return {"dataset": self.dataset(model), "selection": self.models[model]["images"]}

    @functools.cache  # noqa: B019
    def images_fingerprint(self, model: str) -> str:
        return image_sets.fingerprint(self.dataset(model), self.models[model]["images"])

    # --- norm distances ---------------------------------------------------------------------

    def distance_layers(self) -> list[tuple[str, str]]:
        return [(entry["model"], entry["layer"]) for entry in self.analyses["distances"]]

    def distance_steps(self, model: str, layer: str) -> dict[str, list[str]]:
        """Function step -> activation steps inverted for (model, layer), in step order."""
        steps: dict[str, set[str]] = {}
        for job in self.inversion_jobs:
            if job.model == model and job.layer == layer and job.tp != OTHER_IMAGE:
                steps.setdefault(job.t, set()).add(job.tp)

        def order(step: str) -> int:
            return self.step_index(model, step)

        return {t: sorted(steps[t], key=order) for t in sorted(steps, key=order)}

    def distance_spec(self, model: str, layer: str) -> dict:
        steps = self.distance_steps(model, layer)
        needed = {s for t, tps in steps.items() for s in (t, *tps)}
        return {
            "model": model,
            "layer": layer,
            "module": self.models[model]["layers"][layer],
            "network": self.network(model),
            "steps": steps,
            "checkpoints": {
                s: paths.checkpoint(model, s)
                for s in sorted(needed, key=lambda s: self.step_index(model, s))
            },
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
            for layer in panel["layers"]:
                jobs += [
                    InversionJob(panel["model"], layer, panel["function"], tp)
                    for tp in panel["activations"]
                ]
        return jobs

    def claims(self) -> list[dict]:
        return self.analyses["claims"]
