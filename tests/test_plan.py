import copy

import pytest
import yaml
from conftest import ROOT, SCHEMA, run_snakemake
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from invertibility.errors import ConfigError
from invertibility.plan import OTHER_IMAGE, InversionJob, Plan, check_step_labels_are_strings


def test_default_config_plans_every_figure_and_the_needed_checkpoints(default_config):
    plan = Plan(default_config)
    assert plan.per_epoch("mlp") == 71  # ceil(4500 / 64)
    needed = plan.needed_steps("mlp")
    assert {"0_10", "0_50", "1_10"} <= set(needed) and needed[-1] == "3_0"  # classifier last
    indices = [plan.step_index("mlp", s, "step") for s in needed]
    assert indices == sorted(indices)
    jobs = set(plan.inversion_jobs)
    assert InversionJob("mlp", "fc1", "0_10", "1_10") in jobs
    assert InversionJob("mlp", "fc1", "0_10", OTHER_IMAGE) in jobs
    assert {p for p in plan.figure_names()} >= {"fig1_mlp", "fig5_mlp_wide"}


def test_classifier_defaults_to_the_last_needed_step(test_config):
    plan = Plan(test_config)
    assert plan.classifier_step("mlp") == "1_5"
    assert plan.needed_steps("mlp") == ["0_5", "1_5"]


def mutate(config, path, value):
    config = copy.deepcopy(config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


PANEL = ["figures", "fig1_mlp", "panels", 0]


@pytest.mark.parametrize(
    "path, value, message",
    [
        (
            ["models", "mlp", "layers", "fc1"],
            "fc7",
            r"models.mlp.layers.fc1: unknown layer 'fc7'.*valid layers are: flatten, fc1, relu1",
        ),
        ([*PANEL, "layers"], ["fc1", "fc9"], r"model 'mlp' has no layer named 'fc9'"),
        (
            [*PANEL, "activations"],
            ["0_5", "0_21"],
            r"activations: step 0_21 asks for iteration 21 of epoch 0, but an epoch has only 20",
        ),
        (
            [*PANEL, "activations"],
            ["0_4"],
            r"activation step 0_4 comes before the function step 0_5",
        ),
        ([*PANEL, "model"], "vgg", r"unknown model 'vgg'"),
        ([*PANEL, "images"], [0, 99], r"image index 99 out of range"),
        (["models", "mlp", "dataset"], "cifar", r"unknown dataset 'cifar'"),
    ],
)
def test_bad_config_names_the_problem(test_config, path, value, message):
    with pytest.raises(ConfigError, match=message):
        Plan(mutate(test_config, path, value))


def test_unquoted_step_label_gets_a_hint(test_config):
    config = mutate(test_config, [*PANEL, "function"], 110)  # what YAML makes of 1_10
    with pytest.raises(ConfigError, match=r"figures.fig1_mlp.panels\[0\].function.*quote"):
        check_step_labels_are_strings(config)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (
            ["models", "mlp", "train", "batch_size"],
            "64",
            r"'64' is not of type 'integer'[\s\S]*\['models'\]\['mlp'\]\['train'\]\['batch_size'\]",
        ),
        (["models", "mlp", "train", "lr"], -1.0, r"-1.0 is less than or equal to the minimum of 0"),
        (["inversion", "iterations"], 0, r"0 is less than the minimum of 1"),
        (["models", "mlp", "train", "lrate"], 0.1, r"'lrate' was unexpected"),
    ],
)
def test_schema_rejects_wrong_types_ranges_and_unknown_keys(test_config, path, value, message):
    with pytest.raises(WorkflowError, match=message):
        validate(mutate(test_config, path, value), str(SCHEMA))


def test_missing_key_is_rejected(test_config):
    config = copy.deepcopy(test_config)
    del config["models"]["mlp"]["layers"]
    with pytest.raises(WorkflowError, match="'layers' is a required property"):
        validate(config, str(SCHEMA))


def test_snakemake_refuses_a_bad_config_before_any_job(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    config["models"]["mlp"]["layers"]["fc1"] = "fc7"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    run = run_snakemake(tmp_path, "-n", config=bad, check=False)
    assert run.returncode != 0
    assert "Config error: models.mlp.layers.fc1: unknown layer 'fc7'" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()


def test_activation_ranges_expand_from_the_function_step(test_config):
    config = copy.deepcopy(test_config)
    config["analyses"]["grids"] = [
        {
            "model": "mlp",
            "layers": ["fc1"],
            "function": "0_5",
            "activations": {"every": 10, "count": 4},
        }
    ]
    validate(config, str(SCHEMA))
    plan = Plan(config)
    tps = sorted({j.tp for j in plan.inversion_jobs if j.t == "0_5" and j.layer == "fc1"})
    # 20 iterations per epoch: 0_5, 0_15, 1_5, 1_15 (+ the other-image control)
    assert tps == ["0_15", "0_5", "1_15", "1_5", OTHER_IMAGE]
