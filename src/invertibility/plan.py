"""What the config asks for, checked and derived before any job runs.

:class:`Plan` validates the semantics that a JSON schema cannot (layer names exist in the model,
steps lie within an epoch, activation steps do not precede the function step) and derives the
work: the checkpoints each model must keep, one inversion job per (model, layer, t, tp), and the
inputs of each figure. Figures are config entries; nothing here knows a figure by name.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from functools import cached_property

from . import data, paths
from .errors import ConfigError, DataError
from .inversion import InversionSettings
from .models import describe_layers
from .steps import iterations_per_epoch, parse_step, step_from_index

OTHER_IMAGE = "other_image"


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
        self.config = copy.deepcopy(config)
        self._check_models()
        self._expand_activation_ranges()
        self._check_figures()
        self._check_analyses()

    # --- models ---------------------------------------------------------------------------

    def model(self, name: str) -> dict:
        try:
            return self.config["models"][name]
        except KeyError:
            known = ", ".join(self.config["models"])
            raise ConfigError(f"unknown model {name!r}; models in the config: {known}") from None

    def dataset(self, model: str) -> dict:
        return self.config["datasets"][self.model(model)["dataset"]]

    @functools.cache  # noqa: B019 (one Plan per run; cached for 20,000-job grids)
    def per_epoch(self, model: str) -> int:
        spec = self.model(model)
        return iterations_per_epoch(
            data.train_size(self.dataset(model)), spec["train"]["batch_size"]
        )

    @functools.cache  # noqa: B019 (planning 20,000 jobs asks this millions of times)
    def step_index(self, model: str, label: str, where: str) -> int:
        per_epoch = self.per_epoch(model)
        return parse_step(label, per_epoch, where).index(per_epoch)

    def _expand_activation_ranges(self) -> None:
        """``activations: {every: N, count: M}`` -> the M step labels t, t+N, ..., t+(M-1)N."""
        entries = [panel for _, panel in self.panels()]
        entries += self.config.get("analyses", {}).get("grids", [])
        for entry in entries:
            spread = entry["activations"]
            if isinstance(spread, dict):
                model = entry["model"]
                start = self.step_index(model, entry["function"], "function")
                per_epoch = self.per_epoch(model)
                entry["activations"] = [
                    step_from_index(start + k * spread["every"], per_epoch).label
                    for k in range(spread["count"])
                ]

    def module_path(self, model: str, layer: str) -> str:
        layers = self.model(model)["layers"]
        if layer not in layers:
            raise ConfigError(
                f"model {model!r} has no layer named {layer!r} in its 'layers' entry; "
                f"named layers: {', '.join(layers)}"
            )
        return layers[layer]

    def _check_datasets(self) -> None:
        for name, spec in self.config["datasets"].items():
            if spec["source"] != "imagefolder":
                continue
            for key in ("root", "holdout_root", "train_size", "num_classes"):
                if key not in spec:
                    raise ConfigError(f"datasets.{name}.{key}: required for source imagefolder")
            for key in ("root", "holdout_root"):
                try:
                    data.class_names(spec[key], key)
                except DataError as error:
                    raise ConfigError(f"datasets.{name}.{error}") from None

    def _check_models(self) -> None:
        self._check_datasets()
        datasets = self.config["datasets"]
        for name, spec in self.config["models"].items():
            if spec["dataset"] not in datasets:
                raise ConfigError(
                    f"models.{name}.dataset: unknown dataset {spec['dataset']!r}; "
                    f"datasets in the config: {', '.join(datasets)}"
                )
            ds = datasets[spec["dataset"]]
            valid = describe_layers(
                spec["architecture"], data.num_classes(ds), data.input_shape(ds), spec.get("hidden")
            )
            for display, module in spec["layers"].items():
                if module not in valid:
                    raise ConfigError(
                        f"models.{name}.layers.{display}: unknown layer {module!r} for "
                        f"architecture {spec['architecture']!r}; valid layers are: "
                        f"{', '.join(valid)}"
                    )
            if spec.get("classifier_step"):
                self.step_index(name, spec["classifier_step"], f"models.{name}.classifier_step")

    # --- figures and inversion jobs -------------------------------------------------------

    def panels(self):
        """Yield (where, panel) for every panel of every figure."""
        for figure, spec in self.config["figures"].items():
            for i, panel in enumerate(spec["panels"]):
                yield f"figures.{figure}.panels[{i}]", panel

    def _check_grid(self, where: str, model: str, layers, t: str, tps) -> None:
        self.model(model)
        for layer in layers:
            self.module_path(model, layer)
        t_index = self.step_index(model, t, f"{where}.function")
        for tp in tps:
            if self.step_index(model, tp, f"{where}.activations") < t_index:
                raise ConfigError(
                    f"{where}.activations: activation step {tp} comes before the function step "
                    f"{t}; activation steps must be at or after the function step"
                )

    def _check_figures(self) -> None:
        for where, panel in self.panels():
            self._check_grid(
                where, panel["model"], panel["layers"], panel["function"], panel["activations"]
            )
            n_images = self.n_images(panel["model"])
            for index in panel.get("images", []):
                if index >= n_images:
                    raise ConfigError(
                        f"{where}.images: image index {index} out of range; model "
                        f"{panel['model']!r} inverts {n_images} images (0..{n_images - 1})"
                    )

    def _check_analyses(self) -> None:
        analyses = self.config.get("analyses", {})
        for i, grid in enumerate(analyses.get("grids", [])):
            self._check_grid(
                f"analyses.grids[{i}]",
                grid["model"],
                grid["layers"],
                grid["function"],
                grid["activations"],
            )
        for i, entry in enumerate(analyses.get("distances", [])):
            self.module_path(entry["model"], entry["layer"])
            if not self.distance_steps(entry["model"], entry["layer"]):
                raise ConfigError(
                    f"analyses.distances[{i}]: no figure or grid inverts "
                    f"{entry['model']}:{entry['layer']}, so it has no steps"
                )
        for i, claim in enumerate(analyses.get("claims", [])):
            for role in ("greater", "lesser", "above", "below"):
                if role in claim:
                    side = claim[role]
                    self._check_grid(
                        f"analyses.claims[{i}].{role}",
                        side["model"],
                        side["layers"],
                        side["t"],
                        side.get("tps", []),
                    )

    def distance_steps(self, model: str, layer: str) -> dict[str, list[str]]:
        """Function step -> activation steps inverted for (model, layer), in step order."""
        steps: dict[str, set[str]] = {}
        for job in self.inversion_jobs:
            if job.model == model and job.layer == layer and job.tp != OTHER_IMAGE:
                steps.setdefault(job.t, set()).add(job.tp)

        def order(step: str) -> int:
            return self.step_index(model, step, "step")

        return {t: sorted(steps[t], key=order) for t in sorted(steps, key=order)}

    def distance_layers(self) -> list[tuple[str, str]]:
        entries = self.config.get("analyses", {}).get("distances", [])
        return [(entry["model"], entry["layer"]) for entry in entries]

    def claims(self) -> list[dict]:
        return self.config.get("analyses", {}).get("claims", [])

    def n_images(self, model: str) -> int:
        """How many images each inversion job of ``model`` inverts (see data.inversion_images)."""
        selection = self.model(model)["images"]
        counts = self._holdout_counts(model)
        held = sum(min(n, selection["per_class"]) for n in counts.values())
        return held + len(selection.get("photos", []))

    def _holdout_counts(self, model: str) -> dict[int, int]:
        try:
            return data.holdout_counts(self.dataset(model))
        except DataError as error:
            raise ConfigError(f"datasets.{self.model(model)['dataset']}.{error}") from None

    def _grids(self):
        """Every (model, layers, t, tps) grid that figures and analyses ask for."""
        for _, panel in self.panels():
            yield panel["model"], panel["layers"], panel["function"], panel["activations"]
        for grid in self.config.get("analyses", {}).get("grids", []):
            yield grid["model"], grid["layers"], grid["function"], grid["activations"]

    @cached_property
    def inversion_jobs(self) -> list[InversionJob]:
        controls = self.config.get("analyses", {}).get("controls", True)
        jobs = set()
        for model, layers, t, tps in self._grids():
            for layer in layers:
                jobs.update(InversionJob(model, layer, t, tp) for tp in tps)
                if controls:
                    jobs.add(InversionJob(model, layer, t, t))
                    jobs.add(InversionJob(model, layer, t, OTHER_IMAGE))
        return sorted(jobs)

    def inversion_settings(self, model: str) -> InversionSettings:
        merged = {**self.config["inversion"], **self.model(model).get("inversion", {})}
        return InversionSettings(**merged)

    # --- what determines each output (rule params: a change reruns the rule) -------------

    @functools.cache  # noqa: B019
    def training_inputs(self, model: str) -> str:
        """Everything that determines a model's checkpoints, as canonical JSON."""
        spec = self.model(model)
        keys = ("architecture", "hidden", "train")
        return canonical(
            {
                **{k: spec.get(k) for k in keys},
                "dataset": self.dataset(model),
                "device": self.config["device"],
                "steps": self.needed_steps(model),
            }
        )

    @functools.cache  # noqa: B019
    def inversion_inputs(self, model: str) -> str:
        """Everything beyond the checkpoints that determines an inversion, as canonical JSON."""
        return canonical(
            {
                "settings": self.inversion_settings(model).as_dict(),
                "images": self.model(model)["images"],
                "dataset": self.dataset(model),
                "layers": self.model(model)["layers"],
                "classifier_step": self.classifier_step(model),
            }
        )

    # --- checkpoints ----------------------------------------------------------------------

    @functools.cache  # noqa: B019
    def classifier_step(self, model: str) -> str:
        """The 'trained network' whose label a reconstruction gets: configured, else the last
        step any job needs."""
        explicit = self.model(model).get("classifier_step")
        if explicit:
            return explicit
        train = self.model(model)["train"]
        if train.get("train_to_end"):
            return f"{train['epochs']}_0"
        steps = [
            s
            for j in self.inversion_jobs
            if j.model == model
            for s in (j.t, j.tp)
            if s != OTHER_IMAGE
        ]
        return max(steps, key=lambda s: self.step_index(model, s, "step"), default="0_0")

    @functools.cache  # noqa: B019
    def needed_steps(self, model: str) -> list[str]:
        """Step labels whose checkpoints some job reads, in training order."""
        steps = {self.classifier_step(model)}
        for job in self.inversion_jobs:
            if job.model == model:
                steps.add(job.t)
                if job.tp != OTHER_IMAGE:
                    steps.add(job.tp)
        return sorted(steps, key=lambda s: self.step_index(model, s, "step"))

    def trained_models(self) -> list[str]:
        return sorted({job.model for job in self.inversion_jobs})

    # --- figures ---------------------------------------------------------------------------

    def figure_jobs(self, figure: str) -> list[InversionJob]:
        jobs = []
        for panel in self.config["figures"][figure]["panels"]:
            for layer in panel["layers"]:
                jobs += [
                    InversionJob(panel["model"], layer, panel["function"], tp)
                    for tp in panel["activations"]
                ]
        return jobs

    def figure_names(self) -> list[str]:
        return list(self.config["figures"])


def canonical(value) -> str:
    """JSON with sorted keys: equal configs give equal strings, whatever their key order."""
    return json.dumps(value, sort_keys=True)


STEP_KEYS = ("function", "activations", "classifier_step", "t", "tps")


def check_step_labels_are_strings(node, where: str = "config") -> None:
    """YAML reads an unquoted ``1_10`` as the integer 110: catch that with a useful message."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in STEP_KEYS:
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, int):
                        raise ConfigError(
                            f"{where}.{key}: step label read as the number {item}; YAML drops "
                            f"the underscore of an unquoted j_k, so quote step labels: "
                            f"'0_10', not 0_10"
                        )
            check_step_labels_are_strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            check_step_labels_are_strings(item, f"{where}[{i}]")
