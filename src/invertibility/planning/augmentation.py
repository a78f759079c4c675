"""Augmentation jobs (``experiments.augmentation``): one per seed of the experiment's model,
training every arm of every (split layer, window) run of that seed in one process (normal
training first, its trajectory kept in memory; :mod:`invertibility.jobs.augmentation_job`).

Its config checks run at DAG build time with the rest (:func:`check`): the model exists, is an
MLP (the head is every module above the split layer) and reads a dataset with a per-seed split;
``t0`` is on its checkpoint schedule; every window's ``match`` names a window and its
``measured_at`` steps lie on its grid; every run names a layer of the model with a head above it
and a window; every claim names only arms that a run trains.
"""

from __future__ import annotations

from ..analysis.claims import KINDS
from ..analysis.claims.arm_contrast import arm_references, name_of
from ..core import paths
from ..core.augmentation_settings import WINDOW_FREE, windows_of
from ..core.errors import ConfigError

FAMILY = "augmentation"
PARTS = ("outcome", "drift", "similarity")  # one seed's files (jobs.augmentation_job)


def experiment(config: dict) -> dict | None:
    return config.get("experiments", {}).get(FAMILY)


def trained_arms(entry: dict) -> set[tuple[str, str, str]]:
    """(layer, window, arm) of every arm the runs train; window "" for the window-free arms."""
    return {
        (run["layer"], "" if arm in WINDOW_FREE else run["window"], arm)
        for run in entry["runs"]
        for arm in run["arms"]
    }


def check(config: dict) -> None:
    """ConfigError naming the key for what the schema cannot see (``config``: resolved)."""
    entry = experiment(config)
    if entry is None:
        return
    where = f"experiments.{FAMILY}"
    model = entry["model"]
    models = config["models"]
    if model not in models:
        raise ConfigError(f"{where}.model: no model {model!r}; the models are {list(models)}")
    spec = models[model]
    if spec["architecture"] != "mlp":
        raise ConfigError(
            f"{where}.model: {model!r} is a {spec['architecture']}; the experiment splits an "
            f"mlp into a lower part and a head (ResNet against AlexNet is not implemented)"
        )
    if "split" not in config["datasets"][spec["dataset"]]:
        raise ConfigError(
            f"{where}.model: {model!r} reads dataset {spec['dataset']!r}, which has no per-seed "
            f"split (datasets.{spec['dataset']}.split: the validation part fits each arm's "
            f"temperature, the held-out part scores it)"
        )
    if entry["t0"] not in spec["schedule"]:
        raise ConfigError(
            f"{where}.t0: {entry['t0']} is not on models.{model}'s checkpoint schedule "
            f"({', '.join(spec['schedule'])}); add it to its checkpoints"
        )
    if entry["t0"] not in spec["whole_steps"]:
        raise ConfigError(
            f"{where}.t0: the experiment starts from the whole network at {entry['t0']}, but "
            f"models.{model} saves only its layers' tensors there; add '{entry['t0']}' to "
            f"models.{model}.whole (this retrains {model})"
        )
    names = set(entry["windows"])
    for name, window in entry["windows"].items():
        at = f"{where}.windows.{name}"
        if window["end"] <= window["start"]:
            raise ConfigError(f"{at}: end {window['end']} must come after start {window['start']}")
        if window.get("match") is not None and window["match"] not in names - {name}:
            raise ConfigError(f"{at}.match: no other window {window['match']!r}")
        if window.get("match") and entry["windows"][window["match"]].get("match"):
            raise ConfigError(
                f"{at}.match: window {window['match']!r} is itself scaled to another; match a "
                f"window whose drift is as trained"
            )
        grid = set(windows_of({name: window})[0].steps(0))
        off = [step for step in window["measured_at"] if step not in grid]
        if off:
            raise ConfigError(
                f"{at}.measured_at: steps {off} after t0 are not on the window's grid "
                f"({', '.join(map(str, sorted(grid)))})"
            )
    layers = list(spec["layers"])
    with_head = [f"fc{i + 1}" for i in range(len(spec["hidden"]))]  # the logits' has none
    for i, run in enumerate(entry["runs"]):
        at = f"{where}.runs[{i}]"
        if run["layer"] not in layers:
            raise ConfigError(f"{at}.layer: no layer {run['layer']!r} in models.{model}: {layers}")
        if spec["layers"][run["layer"]] not in with_head:
            raise ConfigError(
                f"{at}.layer: {run['layer']!r} ({spec['layers'][run['layer']]}) is not a hidden "
                f"linear layer with a head above it; choose one of {with_head}"
            )
        if run["window"] not in names:
            raise ConfigError(f"{at}.window: no window {run['window']!r}; windows: {sorted(names)}")
    trained = trained_arms(entry)
    for i, claim in enumerate(config["analyses"]["claims"]):
        if claim["kind"] == "arm_contrast":
            raise ConfigError(
                f"analyses.claims[{i}]: an arm_contrast claim belongs to its experiment's own "
                f"family: list it under {where}.claims"
            )
    for i, claim in enumerate(entry.get("claims", [])):
        if claim["kind"] != "arm_contrast":
            raise ConfigError(
                f"{where}.claims[{i}].kind: the experiment's claims are of kind arm_contrast, "
                f"not {claim['kind']!r}"
            )
        KINDS[claim["kind"]].check(claim, f"{where}.claims[{i}]")
        missing = sorted(arm_references(claim) - trained)
        if missing:
            shown = ", ".join(name_of(arm) for arm in missing)
            raise ConfigError(
                f"{where}.claims[{i}]: arms {shown} are not trained by any of {where}.runs"
            )


class Jobs:
    def __init__(self, plan):
        self.plan = plan
        self.entry = experiment(plan.config)

    def seeds(self) -> list[int]:
        return self.plan.seeds(self.entry["model"]) if self.entry else []

    def claims(self) -> list[dict]:
        """The experiment's claims, each marked with its family."""
        return (
            [{**claim, "family": FAMILY} for claim in self.entry.get("claims", [])]
            if (self.entry)
            else []
        )

    def spec(self, seed: int) -> dict:
        """Everything one seed's job reads: the model's network, its dataset's split for the
        seed, its training settings (normal training and the head continue them), t0 as a step,
        the windows, the runs by module, the head's settings and the device."""
        plan, entry = self.plan, self.entry
        model = entry["model"]
        layers = plan.models[model]["layers"]
        return {
            "model": model,
            "seed": seed,
            "network": plan.network_spec(model),
            "dataset": plan.dataset_for(model, seed),
            "train": {**plan.models[model]["train"], "seed": seed},
            "t0": plan.step_index(model, entry["t0"]),
            "t0_label": entry["t0"],
            "checkpoint_t0": paths.checkpoint(model, seed, entry["t0"]),
            "windows": {
                name: {**window, "match": window.get("match")}
                for name, window in entry["windows"].items()
            },
            "head": entry["head"],
            "runs": [{**run, "module": layers[run["layer"]]} for run in entry["runs"]],
            "inversion": {
                layer: plan.inversions.settings(model, layer)
                for layer in dict.fromkeys(run["layer"] for run in entry["runs"])
            },
            "partners": plan.analyses["partners"],
            "device": plan.config["device"],
        }

    def outputs(self, seed: int) -> dict[str, str]:
        model = self.entry["model"]
        return {part: paths.augmentation(model, seed, part) for part in PARTS}

    def measured_at(self) -> dict[str, list[str]]:
        """Each window's activation steps of its retained similarity, as the per-image rows
        write them (text)."""
        t0 = self.plan.step_index(self.entry["model"], self.entry["t0"])
        return {
            name: [str(t0 + step) for step in window["measured_at"]]
            for name, window in self.entry["windows"].items()
        }

    def per_seed(self, part: str) -> list[str]:
        return [self.outputs(seed)[part] for seed in self.seeds()]

    def tables(self) -> dict[str, str]:
        """The family's tables (none without the experiment)."""
        if not self.entry:
            return {}
        return {name: paths.table(name) for name in ("augmentation", "augmentation_windows")}
