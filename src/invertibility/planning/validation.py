"""Check a config's meaning and resolve it, once, at DAG build time (after the JSON schema).

:func:`check_config` returns a resolved copy: every model's checkpoint ``schedule`` expanded into
step labels (``checkpoints`` may hold labels and ranges), every ``activations`` range expanded.
It raises :class:`ConfigError` naming the key for what a schema cannot see: unknown datasets,
layers, photos; an image size too small for the network; a step that is past the end of an
epoch, past the training length, or not on the model's checkpoint schedule; an activation step
before its function step; a claim side that nothing inverts (for every one of its seeds);
repeated or unknown training seeds; claim sides that share no seed; a cross-seed control for a
model with one seed; more identification candidates or other-image partners than the held-out
pool holds.
"""

from __future__ import annotations

import bisect
import copy
import functools

from ..core.errors import ConfigError, DataError
from ..core.steps import iterations_per_epoch, parse_step, step_from_index
from ..data import datasets
from ..figures import KINDS as FIGURE_KINDS
from ..nets.models import (
    ARCHITECTURES,
    OPTIONS,
    describe_layers,
    has_batch_norm,
    network_on_meta,
    smallest_input_size,
)

ROLES = ("greater", "lesser", "above", "below")
STEP_KEYS = (
    "function",
    "activations",
    "classifier_step",
    "checkpoints",
    "t",
    "tps",
    "until",
    "from",
    "step",
)


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


class _Checker:
    def __init__(self, config: dict):
        self.config = copy.deepcopy(config)
        self.models = self.config["models"]

    # --- models -------------------------------------------------------------------------

    def dataset(self, model: str) -> dict:
        return self.config["datasets"][self.models[model]["dataset"]]

    @functools.cache  # noqa: B019 (one checker per config)
    def per_epoch(self, model: str) -> int:
        spec = self.models[model]
        return iterations_per_epoch(
            datasets.train_size(self.dataset(model)), spec["train"]["batch_size"]
        )

    def index(self, model: str, label: str, where: str) -> int:
        per_epoch = self.per_epoch(model)
        return parse_step(label, per_epoch, where).index(per_epoch)

    def check_model(self, name: str) -> None:
        spec = self.models[name]
        where = f"models.{name}"
        if spec["dataset"] not in self.config["datasets"]:
            raise ConfigError(
                f"{where}.dataset: unknown dataset {spec['dataset']!r}; datasets in the config: "
                f"{', '.join(self.config['datasets'])}"
            )
        ds = self.dataset(name)
        self.check_architecture(name)
        network = network_spec(spec, ds)
        valid = describe_layers(**network)
        for display, module in spec["layers"].items():
            if module not in valid:
                raise ConfigError(
                    f"{where}.layers.{display}: unknown layer {module!r} for architecture "
                    f"{spec['architecture']!r}; valid layers are: {', '.join(valid)}"
                )
        smallest = smallest_input_size(**network)
        if smallest is not None:
            raise ConfigError(
                f"datasets.{spec['dataset']}.image_size: {ds['image_size']} px is too small for "
                f"{where} ({spec['architecture']}): its layers shrink the image to nothing; the "
                f"smallest size at which every layer exists is {smallest} px"
            )
        for photo in spec["images"].get("photos", []):
            if photo not in datasets.PHOTOS:
                raise ConfigError(
                    f"{where}.images.photos: {photo!r} is not a photo that ships with "
                    f"scikit-image; choose from: {', '.join(datasets.PHOTOS)}"
                )
        seeds = spec.setdefault("seeds", [0])
        repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
        if repeated:
            raise ConfigError(
                f"{where}.seeds: seed(s) {repeated} repeat; each training seed must differ"
            )
        spec["schedule"] = self.schedule(name)

    def check_architecture(self, name: str) -> None:
        """Options the architecture takes, in range; a width of at least 1; a network with
        batch norm inverts in eval mode (its running statistics: images never mix)."""
        spec = self.models[name]
        where = f"models.{name}"
        architecture = spec["architecture"]
        for key in OPTION_KEYS:
            if key in spec and key not in OPTIONS[architecture]:
                takes = ", ".join(OPTIONS[architecture]) or "none"
                raise ConfigError(
                    f"{where}.{key}: the option {key!r} does not apply to architecture "
                    f"{architecture!r} (its options: {takes})"
                )
        scale = spec.get("residual_scale", 1.0)
        if not 0 < scale <= 1:
            raise ConfigError(
                f"{where}.residual_scale: h = {scale} is outside (0, 1]; a block computes "
                f"relu(x + h F(x)), and h = 1 is the standard ResNet"
            )
        if ARCHITECTURES[architecture].needs_hidden and not spec.get("hidden"):
            raise ConfigError(
                f"{where}.hidden: an {architecture!r} model needs a list of hidden widths"
            )
        if any(width < 1 for width in spec.get("hidden") or []):
            raise ConfigError(f"{where}.hidden: every width must be at least 1: {spec['hidden']}")
        mode = {**self.config.get("inversion", {}), **spec.get("inversion", {})}.get(
            "network_mode", "eval"
        )
        if mode != "eval" and has_batch_norm(
            network_on_meta(**network_spec(spec, self.dataset(name)))
        ):
            raise ConfigError(
                f"{where}.inversion.network_mode: {mode!r}, but {name!r} has batch norm: in "
                f"train mode BN normalizes with the batch's statistics, so the images of a batch "
                f"would change each other's inversion; use 'eval' (the running statistics of the "
                f"inverted step)"
            )

    def schedule(self, model: str) -> list[str]:
        """The model's saved steps: its ``checkpoints`` (labels and ranges) and its classifier
        step, in training order, each within the training length."""
        spec = self.models[model]
        where = f"models.{model}.checkpoints"
        per_epoch = self.per_epoch(model)
        epochs = spec["train"].get("epochs", 90)
        length = epochs * per_epoch
        steps: dict[int, str] = {}
        for i, entry in enumerate(spec["checkpoints"]):
            if isinstance(entry, str):
                steps.setdefault(self.index(model, entry, f"{where}[{i}]"), entry)
                continue
            start = self.index(model, entry.get("from", "0_0"), f"{where}[{i}].from")
            until = self.index(model, entry["until"], f"{where}[{i}].until")
            if until < start:
                raise ConfigError(
                    f"{where}[{i}]: the range is empty: until {entry['until']} comes before "
                    f"from {entry.get('from', '0_0')}"
                )
            for index in range(start, until + 1, entry["every"]):
                steps.setdefault(index, step_from_index(index, per_epoch).label)
        classifier = spec.get("classifier_step")
        if not classifier:
            classifier = f"{epochs}_0" if spec["train"].get("train_to_end") else None
        if classifier:  # saved too; under the schedule's label if it names the same step
            index = self.index(model, classifier, f"models.{model}.classifier_step")
            classifier = steps.setdefault(index, classifier)
        if not steps:
            raise ConfigError(f"{where}: the schedule saves no step")
        last = max(steps)
        if last > length:
            raise ConfigError(
                f"{where}: step {steps[last]} (optimizer step {last}) is past the training "
                f"length: {epochs} epochs x {per_epoch} iterations = {length} steps ({epochs}_0); "
                f"raise models.{model}.train.epochs or drop the step"
            )
        spec["classifier_step"] = classifier or steps[last]
        return [steps[index] for index in sorted(steps)]

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

    # --- grids: figures, analyses ---------------------------------------------------------

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

    def check_grid(self, where: str, entry: dict, t_key: str = "function", tps_key="activations"):
        model = entry["model"]
        self.known_model(model, where)
        seeds = self.models[model]["seeds"]
        wanted = [*entry.get("seeds", []), *([entry["seed"]] if "seed" in entry else [])]
        unknown = [seed for seed in wanted if seed not in seeds]
        if unknown:
            raise ConfigError(
                f"{where}.seeds: model {model!r} is not trained with seed(s) {unknown}; its "
                f"seeds (models.{model}.seeds): {seeds}"
            )
        for layer in entry["layers"]:
            self.known_layer(model, layer, f"{where}.layers")
        t_index = self.on_schedule(model, entry[t_key], f"{where}.{t_key}")
        spread = entry.get(tps_key) or []
        if isinstance(spread, dict):
            per_epoch = self.per_epoch(model)
            spread = [
                step_from_index(t_index + k * spread["every"], per_epoch).label
                for k in range(spread["count"])
            ]
            entry[tps_key] = spread
        for tp in spread:
            if self.on_schedule(model, tp, f"{where}.{tps_key}") < t_index:
                raise ConfigError(
                    f"{where}.{tps_key}: activation step {tp} comes before the function step "
                    f"{entry[t_key]}; activation steps must be at or after the function step"
                )

    @functools.cache  # noqa: B019 (asked once per figure panel)
    def n_images(self, model: str) -> int:
        selection = self.models[model]["images"]
        try:
            counts = datasets.holdout_counts(self.dataset(model))
        except DataError as error:
            raise ConfigError(f"datasets.{self.models[model]['dataset']}.{error}") from None
        held = sum(min(n, selection["per_class"]) for n in counts.values())
        return held + len(selection.get("photos", []))

    def check_figures(self) -> None:
        for name, figure in self.config["figures"].items():
            where = f"figures.{name}"
            kind = FIGURE_KINDS[figure.setdefault("kind", "image_grid")]
            if kind.panels and not figure.get("panels"):
                raise ConfigError(f"{where}: a figure of kind {kind.name} needs 'panels'")
            if not kind.panels and "panels" in figure:
                raise ConfigError(f"{where}: a figure of kind {kind.name} takes no 'panels'")
            for model in figure.get("models", []):
                self.known_model(model, f"{where}.models")
            if kind.check:
                kind.check(figure, where, self)  # what only this kind asks of its entry
            for i, panel in enumerate(figure.get("panels", [])):
                self.check_grid(f"{where}.panels[{i}]", panel)
                panel.setdefault("seed", self.models[panel["model"]]["seeds"][0])
                n_images = self.n_images(panel["model"])
                for index in panel.get("images", []):
                    if index >= n_images:
                        raise ConfigError(
                            f"{where}.panels[{i}].images: image index {index} out of range; "
                            f"model {panel['model']!r} inverts {n_images} images "
                            f"(0..{n_images - 1})"
                        )

    def inverted(self) -> set[tuple[str, str, str, str]]:
        """(model, layer, t, tp) of every inversion the figures and grids ask for."""
        return {
            (model, layer, t, tp)
            for model, _, layers, t, tps in grids(self.config)
            for layer in layers
            for tp in tps
        }

    def check_controls(self) -> None:
        """The image pool must hold the other-image partners and identification candidates;
        the cross-seed floor needs two seeds of every model that is inverted."""
        analyses = self.config["analyses"]
        for model in sorted({model for model, *_ in grids(self.config)}):
            dataset = self.models[model]["dataset"]
            try:
                counts = datasets.holdout_counts(self.dataset(model))
            except DataError as error:
                raise ConfigError(f"datasets.{dataset}.{error}") from None
            pool = sum(counts.values())
            if analyses["candidates"] > pool:
                raise ConfigError(
                    f"analyses.candidates: {analyses['candidates']} identification candidates, "
                    f"but the held-out pool of dataset {dataset!r} (model {model!r}) holds "
                    f"{pool} images; lower it or hold out more images"
                )
            fewest_others = pool - max(counts.values())
            if analyses["partners"] > fewest_others:
                raise ConfigError(
                    f"analyses.partners: {analyses['partners']} other-image partners per image, "
                    f"but dataset {dataset!r} holds only {fewest_others} held-out images of "
                    f"another class for some class"
                )
            seeds = self.models[model]["seeds"]
            if analyses["cross_seed"] and len(seeds) < 2:
                raise ConfigError(
                    f"models.{model}.seeds: the cross-seed control (analyses.cross_seed) inverts "
                    f"one seed's activations with another seed's function, but {model!r} has "
                    f"one seed ({seeds}); add a seed or set analyses.cross_seed: false"
                )

    def check_analyses(self) -> None:
        analyses = self.config["analyses"]
        for i, grid in enumerate(analyses["grids"]):
            self.check_grid(f"analyses.grids[{i}]", grid)
        inverted = self.inverted()
        for i, entry in enumerate(analyses["distances"]):
            where = f"analyses.distances[{i}]"
            self.known_model(entry["model"], where)
            self.known_layer(entry["model"], entry["layer"], f"{where}.layer")
            if not any(m == entry["model"] and la == entry["layer"] for m, la, _, _ in inverted):
                raise ConfigError(
                    f"{where}: no figure or grid inverts {entry['model']}:{entry['layer']}, so "
                    f"it has no steps"
                )
        for i, claim in enumerate(analyses["claims"]):
            self.check_claim_kind(i, claim)
            roles = [(role, claim[role]) for role in ROLES if role in claim]
            roles += [(f"sides[{k}]", side) for k, side in enumerate(claim.get("sides", []))]
            for role, side in roles:
                where = f"analyses.claims[{i}].{role}"
                self.check_grid(where, side, t_key="t", tps_key="tps")
                side.setdefault("seeds", self.models[side["model"]]["seeds"])
                for layer in side["layers"]:
                    tps = side.get("tps") or []
                    missing = [
                        tp for tp in tps if (side["model"], layer, side["t"], tp) not in inverted
                    ]
                    if not any(key[:3] == (side["model"], layer, side["t"]) for key in inverted):
                        missing = ["any step"]
                    if missing:
                        raise ConfigError(
                            f"{where}: no figure or grid inverts {side['model']}:{layer} with "
                            f"function {side['t']} at {', '.join(missing)}; add it to "
                            f"analyses.grids"
                        )
                gridded = self.gridded_seeds(side["model"], side["t"])
                absent = [seed for seed in side["seeds"] if seed not in gridded]
                if absent:
                    raise ConfigError(
                        f"{where}: no grid inverts {side['model']} with function {side['t']} "
                        f"for seed(s) {absent} (figures invert one seed only); add them to an "
                        f"analyses.grids entry"
                    )
            # seeds pair the sides of one network (fc1 and fc2 of one run), so they must share
            # one; sides of two networks are compared unpaired
            sides = [side for _, side in roles]
            paired = len(sides) >= 2 and len({s["model"] for s in sides}) == 1
            if paired and not set.intersection(*(set(s["seeds"]) for s in sides)):
                raise ConfigError(
                    f"analyses.claims[{i}]: its sides share no training seed "
                    f"({' vs '.join(str(s['seeds']) for s in sides)}); seeds pair the sides of "
                    f"one network, so they must share one"
                )

    def check_judges(self) -> None:
        """Each label judge is a trained model of the dataset it judges, at a saved step."""
        for dataset, judge in self.config["analyses"]["label_judges"].items():
            where = f"analyses.label_judges.{dataset}"
            if dataset not in self.config["datasets"]:
                raise ConfigError(
                    f"{where}: unknown dataset {dataset!r}; datasets in the config: "
                    f"{', '.join(self.config['datasets'])}"
                )
            self.known_model(judge["model"], where)
            spec = self.models[judge["model"]]
            if spec["dataset"] != dataset:
                raise ConfigError(
                    f"{where}.model: {judge['model']!r} is trained on {spec['dataset']!r}, not "
                    f"on the dataset it would judge ({dataset!r})"
                )
            if judge["seed"] not in spec["seeds"]:
                raise ConfigError(
                    f"{where}.seed: model {judge['model']!r} is not trained with seed "
                    f"{judge['seed']} (its seeds: {spec['seeds']})"
                )
            self.on_schedule(judge["model"], judge["step"], f"{where}.step")

    def check_claim_kind(self, i: int, claim: dict) -> None:
        """The keys each kind needs and its own check (the schema cannot tie keys to a kind)."""
        from ..analysis.claims import KINDS

        where = f"analyses.claims[{i}]"
        kind = KINDS[claim["kind"]]
        missing = [key for key in kind.needs if key not in claim]
        if missing:
            raise ConfigError(f"{where}: a {claim['kind']} claim needs {', '.join(missing)}")
        if kind.check:
            kind.check(claim, where)

    def gridded_seeds(self, model: str, t: str) -> set[int]:
        return {
            seed
            for m, seeds, _, function, _ in grids(self.config)
            if m == model and function == t
            for seed in seeds
        }

    def check_datasets(self) -> None:
        for name, spec in self.config["datasets"].items():
            if spec["source"] != "imagefolder":
                continue
            for key in ("root", "holdout_root", "train_size", "num_classes"):
                if key not in spec:
                    raise ConfigError(f"datasets.{name}.{key}: required for source imagefolder")
            for key in ("root", "holdout_root"):
                try:
                    datasets.class_names(spec[key], key)
                except DataError as error:
                    raise ConfigError(f"datasets.{name}.{error}") from None


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


def check_config(config: dict) -> dict:
    """A resolved copy of a schema-valid ``config``; ConfigError naming the key if it is wrong."""
    check_step_labels_are_strings(config)
    checker = _Checker(config)
    analyses = checker.config.setdefault("analyses", {})
    for key in ("grids", "distances", "claims"):
        analyses.setdefault(key, [])
    checker.check_datasets()
    for name in checker.models:
        checker.check_model(name)
        checker.models[name]["iterations_per_epoch"] = checker.per_epoch(name)
    for key, default in ANALYSES_DEFAULTS.items():
        analyses.setdefault(key, default)
    checker.check_figures()
    checker.check_analyses()
    checker.check_judges()
    checker.check_controls()
    return checker.config


# What the schema's defaults say, for configs checked without the schema (unit tests).
ANALYSES_DEFAULTS = {
    "controls": True,
    "cross_seed": True,
    "partners": 3,
    "candidates": 100,
    "predictors_measure": "retained",
    "label_judges": {},
}


def grids(config: dict):
    """Every (model, seeds, layers, function step, activation steps) that figure panels and
    ``analyses.grids`` ask to invert (activation ranges expanded once resolved). A figure panel
    inverts one training seed (its ``seed``, default the model's first); a grid every seed of
    the model unless it names ``seeds``."""
    for figure in config["figures"].values():
        for panel in figure.get("panels", []):
            seeds = [panel["seed"]]
            yield panel["model"], seeds, panel["layers"], panel["function"], panel["activations"]
    for grid in config["analyses"]["grids"]:
        seeds = grid.get("seeds") or config["models"][grid["model"]]["seeds"]
        yield grid["model"], seeds, grid["layers"], grid["function"], grid["activations"]


def step_index(model: dict, label: str) -> int:
    """Optimizer steps to reach ``label`` for a resolved model entry."""
    return parse_step(label).index(model["iterations_per_epoch"])
