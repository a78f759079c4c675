"""Resolve a config and check its meaning, once, at DAG build time (after the JSON schema).

:func:`check_config` returns the resolved copy (:mod:`.resolve`: defaults, checkpoint
schedules, step ranges), which the checks then only read. It raises :class:`ConfigError` naming
the key for what a schema cannot see: unknown datasets, layers, photos; an image size too small
for the network; a step that is past the end of an epoch, past the training length, or not on
the model's checkpoint schedule; an activation step before its function step; a claim side that
nothing inverts (for every one of its seeds); repeated or unknown training seeds; claim sides
that share no seed; a cross-seed control for a model with one seed; more identification
candidates or other-image partners than the held-out pool holds.
"""

from __future__ import annotations

from ..core.errors import ConfigError
from ..core.steps import parse_step
from . import experiments
from .check_analyses import AnalysesChecks
from .resolve import resolve_config

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
    "whole",
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


class _Checker(AnalysesChecks):
    """Every check, by config section: models (:mod:`.check_models`), what is inverted
    (:mod:`.check_grids`), analyses (:mod:`.check_analyses`)."""


def check_config(config: dict) -> dict:
    """The resolved copy of a schema-valid ``config``; ConfigError naming the key if it is wrong.
    ``config`` itself is left as it is."""
    check_step_labels_are_strings(config)
    resolved = resolve_config(config)
    checker = _Checker(resolved)
    for name in checker.models:
        checker.check_model(name)
    checker.check_figures()
    checker.check_analyses()
    checker.check_judges()
    checker.check_controls()
    experiments.check(resolved)
    return resolved


def step_index(model: dict, label: str) -> int:
    """Optimizer steps to reach ``label`` for a resolved model entry."""
    return parse_step(label).index(model["iterations_per_epoch"])
