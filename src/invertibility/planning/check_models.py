"""Config checks of datasets and models: architectures and their options, input sizes, layers,
checkpoint schedules and seeds; the facts every later check reads (a model's dataset, its
iterations per epoch, the index of a step)."""

from __future__ import annotations

import bisect
import functools

from ..core.errors import ConfigError
from ..core.steps import parse_step
from ..data import datasets
from ..data.photos import PHOTOS
from ..nets.models import (
    ARCHITECTURES,
    OPTIONS,
    describe_layers,
    forward_calls,
    has_batch_norm,
    network_on_meta,
    smallest_input_size,
)


class ModelChecks:
    def __init__(self, config: dict):
        """``config``: resolved (:func:`.resolve.resolve_config`); the checks only read it."""
        self.config = config
        self.models = self.config["models"]

    def dataset(self, model: str) -> dict:
        return self.config["datasets"][self.models[model]["dataset"]]

    def per_epoch(self, model: str) -> int:
        return self.models[model]["iterations_per_epoch"]

    def index(self, model: str, label: str, where: str) -> int:
        per_epoch = self.per_epoch(model)
        return parse_step(label, per_epoch, where).index(per_epoch)

    def check_model(self, name: str) -> None:
        entry = self.models[name]  # its dataset is known: resolving needed it
        where = f"models.{name}"
        ds = self.dataset(name)
        self.check_architecture(name)
        network = network_spec(entry, ds)
        valid = describe_layers(**network)
        for display, module in entry["layers"].items():
            if module not in valid:
                raise ConfigError(
                    f"{where}.layers.{display}: unknown layer {module!r} for architecture "
                    f"{entry['architecture']!r}; valid layers are: {', '.join(valid)}"
                )
        smallest = smallest_input_size(**network)
        if smallest is not None:
            raise ConfigError(
                f"datasets.{entry['dataset']}.image_size: {ds['image_size']} px is too small for "
                f"{where} ({entry['architecture']}): its layers shrink the image to nothing; the "
                f"smallest size at which every layer exists is {smallest} px"
            )
        calls = forward_calls(**network)
        for display, module in entry["layers"].items():
            if calls[module] != 1:
                raise ConfigError(
                    f"{where}.layers.{display}: layer {module!r} runs {calls[module]} times in "
                    f"one forward pass of {entry['architecture']!r}, so it has no single output "
                    f"to invert; name the module it feeds or the block that holds it"
                )
        for i, label in enumerate(entry.get("whole", [])):
            self.on_schedule(name, label, f"{where}.whole[{i}]")
        for photo in entry["images"].get("photos", []):
            if photo not in PHOTOS:
                raise ConfigError(
                    f"{where}.images.photos: {photo!r} is not a photo that ships with "
                    f"scikit-image; choose from: {', '.join(PHOTOS)}"
                )
        seeds = entry["seeds"]
        repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
        if repeated:
            raise ConfigError(
                f"{where}.seeds: seed(s) {repeated} repeat; each training seed must differ"
            )

    def check_architecture(self, name: str) -> None:
        """Options the architecture takes, in range; a width of at least 1; a network with
        batch norm inverts in eval mode (its running statistics: images never mix)."""
        entry = self.models[name]
        where = f"models.{name}"
        architecture = entry["architecture"]
        for key in OPTION_KEYS:
            if key in entry and key not in OPTIONS[architecture]:
                takes = ", ".join(OPTIONS[architecture]) or "none"
                raise ConfigError(
                    f"{where}.{key}: the option {key!r} does not apply to architecture "
                    f"{architecture!r} (its options: {takes})"
                )
        scale = entry.get("residual_scale", 1.0)
        if not 0 < scale <= 1:
            raise ConfigError(
                f"{where}.residual_scale: h = {scale} is outside (0, 1]; a block computes "
                f"relu(x + h F(x)), and h = 1 is the standard ResNet"
            )
        if ARCHITECTURES[architecture].needs_hidden and not entry.get("hidden"):
            raise ConfigError(
                f"{where}.hidden: an {architecture!r} model needs a list of hidden widths"
            )
        if any(width < 1 for width in entry.get("hidden") or []):
            raise ConfigError(f"{where}.hidden: every width must be at least 1: {entry['hidden']}")
        mode = {**self.config.get("inversion", {}), **entry.get("inversion", {})}.get(
            "network_mode", "eval"
        )
        if mode != "eval" and has_batch_norm(
            network_on_meta(**network_spec(entry, self.dataset(name)))
        ):
            raise ConfigError(
                f"{where}.inversion.network_mode: {mode!r}, but {name!r} has batch norm: in "
                f"train mode BN normalizes with the batch's statistics, so the images of a batch "
                f"would change each other's inversion; use 'eval' (the running statistics of the "
                f"inverted step)"
            )

    @functools.cache  # noqa: B019
    def scheduled(self, model: str) -> frozenset[str]:
        return frozenset(self.models[model]["schedule"])

    def on_schedule(self, model: str, label: str, where: str) -> int:
        """The index of ``label``; a ConfigError naming the nearest scheduled steps if the model
        does not save it."""
        index = self.index(model, label, where)
        if label in self.scheduled(model):
            return index
        schedule = self.models[model]["schedule"]
        indices = [self.index(model, s, "schedule") for s in schedule]
        at = bisect.bisect_left(indices, index)
        nearest = [schedule[j] for j in (at - 1, at) if 0 <= j < len(schedule)]
        raise ConfigError(
            f"{where}: step {label} is not on the checkpoint schedule of model {model!r} "
            f"(models.{model}.checkpoints); nearest scheduled steps: {', '.join(nearest)}. Add it "
            f"to the schedule (this retrains {model}) or use a scheduled step"
        )

    def saved_whole(self, model: str, label: str, where: str) -> None:
        """``label`` is a step whose checkpoint ``model`` saves whole (a reader needs every
        tensor there, not only its layers')."""
        self.on_schedule(model, label, where)
        if label not in self.models[model]["whole_steps"]:
            raise ConfigError(
                f"{where}: step {label} of model {model!r} is read whole (every tensor of the "
                f"network), but its checkpoint there holds only the tensors of its layers; add "
                f"'{label}' to models.{model}.whole (this retrains {model})"
            )

    def known_model(self, model: str, where: str) -> None:
        if model not in self.models:
            raise ConfigError(
                f"{where}.model: unknown model {model!r}; models in the config: "
                f"{', '.join(self.models)}"
            )

    def known_layer(self, model: str, layer: str, where: str) -> None:
        layers = self.models[model]["layers"]
        if layer not in layers:
            raise ConfigError(
                f"{where}: model {model!r} has no layer named {layer!r} in its 'layers' entry; "
                f"named layers: {', '.join(layers)}"
            )


def network_spec(model: dict, dataset: dict) -> dict:
    """The keyword arguments of :func:`invertibility.nets.models.build_model` for a model entry (its
    architecture options only where the entry sets them, so a plain model's spec is unchanged)."""
    spec = {
        "architecture": model["architecture"],
        "num_classes": datasets.num_classes(dataset),
        "input_shape": list(datasets.input_shape(dataset)),
        "hidden": model.get("hidden"),
    }
    options = {key: model[key] for key in OPTION_KEYS if key in model}
    if options:
        spec["options"] = options
    return spec


OPTION_KEYS = sorted({key for keys in OPTIONS.values() for key in keys})
