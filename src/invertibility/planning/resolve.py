"""Resolve a config, in one pure step before the checks read it (:func:`resolve_config`).

The resolved config is a new dict (the input is left as it was) with:

* every default the schema declares, filled in where the key is missing (the schema is the one
  place a default is written; Snakemake's validation fills the same ones);
* per model: ``iterations_per_epoch`` (from the dataset's training size and the batch size),
  its checkpoint ``schedule`` expanded into step labels and its ``classifier_step``
  (:func:`invertibility.core.steps.checkpoint_schedule`);
* per figure panel: its ``seed`` (default: the model's first); per claim side: its ``seeds``
  (default: every seed of the model);
* every ``activations`` / ``tps`` range (``{every, count}``) expanded into step labels.

Resolving raises :class:`ConfigError` where a value it needs cannot be read or computed (a
dataset entry its source refuses, an unknown dataset, a step label that does not parse, a
checkpoint schedule that is empty or runs past the training length); everything else is the
checks' job (:mod:`.validation`), which only read.

The schema is read from the repository (``workflow/schemas``): the package is installed in
editable mode from its checkout (``scripts/setup.sh``).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import jsonschema
import yaml

from ..core.errors import ConfigError
from ..core.steps import checkpoint_schedule, iterations_per_epoch, spread
from ..data import datasets

SCHEMA = Path(__file__).parents[3] / "workflow" / "schemas" / "config.schema.yaml"


@functools.cache
def _schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


@functools.cache
def _filling_validator():
    """A validator class that, as it walks an instance, sets each missing property that has a
    schema default (jsonschema's documented recipe; its errors are the checks' business)."""
    base = jsonschema.Draft202012Validator
    properties = base.VALIDATORS["properties"]

    def fill(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in props.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from properties(validator, props, instance, schema)

    return jsonschema.validators.extend(base, {"properties": fill})


def fill_defaults(config: dict) -> dict:
    """``config`` with the schema's defaults filled in, in place."""
    for _ in _filling_validator()(_schema()).iter_errors(config):
        pass
    return config


def resolve_config(config: dict) -> dict:
    """The resolved copy of a schema-valid ``config`` (see the module's docstring)."""
    resolved = fill_defaults(copy.deepcopy(config))
    for name, dataset in resolved["datasets"].items():
        datasets.check(dataset, f"datasets.{name}")  # a source may need its files to be read
    models = resolved["models"]
    for name, model in models.items():
        _resolve_model(name, model, resolved["datasets"])
    for name, figure in resolved["figures"].items():
        for i, panel in enumerate(figure.get("panels", [])):
            where = f"figures.{name}.panels[{i}]"
            if panel["model"] in models:
                panel.setdefault("seed", models[panel["model"]]["seeds"][0])
                _expand(panel, "function", "activations", models[panel["model"]], where)
    analyses = resolved["analyses"]
    for i, grid in enumerate(analyses["grids"]):
        if grid["model"] in models:
            _expand(grid, "function", "activations", models[grid["model"]], f"analyses.grids[{i}]")
    for i, claim in enumerate(analyses["claims"]):
        for role, side in claim_sides(claim):
            if side["model"] in models:
                side.setdefault("seeds", list(models[side["model"]]["seeds"]))
                where = f"analyses.claims[{i}].{role}"
                _expand(side, "t", "tps", models[side["model"]], where)
    return resolved


def claim_sides(claim: dict) -> list[tuple[str, dict]]:
    """A claim's sides, each with its config key: the roles its kind names (``greater``,
    ``above``, ...), then its ``sides`` list."""
    from ..analysis.claims import KINDS

    kind = KINDS.get(claim["kind"])
    sides = [(role, claim[role]) for role in (kind.roles if kind else ()) if role in claim]
    return sides + [(f"sides[{k}]", side) for k, side in enumerate(claim.get("sides", []))]


def _resolve_model(name: str, model: dict, datasets_config: dict) -> None:
    where = f"models.{name}"
    if model["dataset"] not in datasets_config:
        raise ConfigError(
            f"{where}.dataset: unknown dataset {model['dataset']!r}; datasets in the config: "
            f"{', '.join(datasets_config)}"
        )
    dataset = datasets_config[model["dataset"]]
    per_epoch = iterations_per_epoch(datasets.train_size(dataset), model["train"]["batch_size"])
    model["iterations_per_epoch"] = per_epoch
    train = model["train"]
    classifier = model.get("classifier_step") or (
        f"{train['epochs']}_0" if train["train_to_end"] else None
    )
    model["schedule"], model["classifier_step"] = checkpoint_schedule(
        model["checkpoints"], per_epoch, train["epochs"], classifier, f"{where}.checkpoints"
    )
    # the steps saved whole; the others hold the declared layers' tensors alone
    model["whole_steps"] = list(dict.fromkeys([model["classifier_step"], *model.get("whole", [])]))


def _expand(entry: dict, t_key: str, tps_key: str, model: dict, where: str) -> None:
    """An ``{every, count}`` range of activation steps, as step labels from ``entry[t_key]``."""
    steps = entry.get(tps_key)
    if isinstance(steps, dict):
        entry[tps_key] = spread(
            entry[t_key],
            model["iterations_per_epoch"],
            steps["every"],
            steps["count"],
            f"{where}.{t_key}",
        )
