"""The augmentation experiment's planning: its jobs and specs, and a clear config error, naming
the key, for every entry it cannot run."""

import copy

import pytest

from invertibility.core.augmentation_settings import ARMS
from invertibility.core.errors import ConfigError
from invertibility.planning.augmentation import trained_arms
from invertibility.planning.plan import Plan


def test_one_job_per_seed_reads_its_own_split_and_the_models_own_training(test_config):
    plan = Plan(test_config)
    entry = plan.experiments["augmentation"].entry
    assert plan.experiments["augmentation"].seeds() == test_config["models"]["mlp_aug"]["seeds"]
    specs = [
        plan.experiments["augmentation"].spec(seed)
        for seed in plan.experiments["augmentation"].seeds()
    ]
    assert [spec["dataset"]["split_seed"] for spec in specs] == plan.experiments[
        "augmentation"
    ].seeds()
    # the train rule reads the same dataset entry for the same seed
    for spec in specs:
        training = plan.training.spec(spec["model"], spec["seed"])
        assert training["dataset"] == spec["dataset"] and training["train"] == spec["train"]
        assert spec["checkpoint_t0"] in [path for *_, path in training["schedule"]]
    assert specs[0]["t0"] == plan.step_index("mlp_aug", entry["t0"])
    assert set(specs[0]["inversion"]) == {"fc1", "fc2"}
    assert specs[0]["inversion"]["fc2"] == plan.inversions.settings("mlp_aug", "fc2")
    assert plan.experiments["augmentation"].measured_at() == {
        "early": ["8", "10"],
        "late": ["24", "26"],
    }
    # the claims come after the paper's, marked with their family
    family = [c for c in plan.claims() if c.get("family") == "augmentation"]
    assert [c["claim"] for c in family] == [c["claim"] for c in entry["claims"]]


def test_window_free_arms_run_once_per_layer(test_config):
    entry = copy.deepcopy(test_config["experiments"]["augmentation"])
    entry["runs"].append({"layer": "fc1", "window": "late", "arms": ["static", "shifted"]})
    arms = trained_arms(entry)
    assert ("fc1", "", "static") in arms and ("fc1", "late", "static") not in arms


def test_the_schema_lists_the_arms_of_the_method():
    from test_configs import schema

    runs = schema()["properties"]["experiments"]["properties"]["augmentation"]["properties"]
    assert runs["runs"]["items"]["properties"]["arms"]["items"]["enum"] == list(ARMS)


def broken(test_config, change):
    config = copy.deepcopy(test_config)
    change(config)
    return config


def experiment(config):
    return config["experiments"]["augmentation"]


CASES = {
    "not a model": (
        lambda c: experiment(c).update(model="nope"),
        r"experiments.augmentation.model: no model 'nope'",
    ),
    "not an mlp": (
        lambda c: experiment(c).update(model="resnet18_nobn"),
        r"experiments.augmentation.model: 'resnet18_nobn' is a resnet18_nobn",
    ),
    "no split": (
        lambda c: c["models"]["mlp_aug"].update(dataset="mnist"),
        r"reads dataset 'mnist', which has no per-seed split",
    ),
    "t0 unsaved": (
        lambda c: experiment(c).update(t0="1_2"),
        r"experiments.augmentation.t0: 1_2 is not on models.mlp_aug's checkpoint schedule",
    ),
    "unknown match": (
        lambda c: experiment(c)["windows"]["late"].update(match="middle"),
        r"windows.late.match: no other window 'middle'",
    ),
    "chained match": (
        lambda c: experiment(c)["windows"]["early"].update(match="late"),
        r"windows.early.match: window 'late' is itself scaled to another",
    ),
    "off the grid": (
        lambda c: experiment(c)["windows"]["early"].update(measured_at=[3, 5]),
        r"windows.early.measured_at: steps \[5\] after t0 are not on the window's grid",
    ),
    "unknown layer": (
        lambda c: experiment(c)["runs"][0].update(layer="fc9"),
        r"experiments.augmentation.runs\[0\].layer: no layer 'fc9'",
    ),
    "no head": (
        lambda c: (
            c["models"]["mlp_aug"]["layers"].update(logits="fc4"),
            experiment(c)["runs"][0].update(layer="logits"),
        ),
        r"runs\[0\].layer: 'logits' \(fc4\) is not a hidden linear layer with a head above it",
    ),
    "unknown window": (
        lambda c: experiment(c)["runs"][0].update(window="middle"),
        r"runs\[0\].window: no window 'middle'",
    ),
    "arm not trained": (
        lambda c: experiment(c)["claims"][0]["contrasts"][0].update(plus=["fc2/late/drift"]),
        r"claims\[0\]: arms fc2/late/drift are not trained",
    ),
    "malformed arm": (
        lambda c: experiment(c)["claims"][0]["contrasts"][0].update(plus=["fc1-early-drift"]),
        r"claims\[0\].contrasts\[0\].plus\[0\]",
    ),
    "wrong family": (
        lambda c: c["analyses"]["claims"].append(copy.deepcopy(experiment(c)["claims"][0])),
        r"analyses.claims\[\d+\]: an arm_contrast claim belongs to its experiment's own family",
    ),
    "split inverted": (
        lambda c: c["analyses"]["grids"].append(
            {"model": "mlp_aug", "layers": ["fc1"], "function": "1_1", "activations": ["1_1"]}
        ),
        r"datasets.mnist_split.split: a per-seed split has no fixed held-out pool",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_config_the_experiment_cannot_run_is_refused_by_key(test_config, case):
    change, message = CASES[case]
    with pytest.raises(ConfigError, match=message):
        Plan(broken(test_config, change))
