"""Checkpoints that hold what their readers need: the tensors a layer depends on (traced through
the truncated forward pass), saving them alone, loading a network for its layers, and the clear
error when a checkpoint is read for more than it holds."""

import pandas as pd
import pytest
import torch
from conftest import ROOT, load_config
from safetensors.torch import load_file
from torch import nn

from invertibility.core.errors import CheckpointError, ConfigError
from invertibility.nets.checkpoints import (
    NotInCheckpoint,
    checkpoint_metadata,
    load_network,
    save_checkpoint,
)
from invertibility.nets.models import build_model
from invertibility.nets.scope import tensors_for, tensors_of
from invertibility.nets.taps import Tap
from invertibility.planning.plan import Plan
from invertibility.planning.validation import check_config

ALEXNET = {"architecture": "alexnet", "num_classes": 10, "input_shape": [3, 64, 64]}
RESNET = {"architecture": "resnet18_nobn", "num_classes": 10, "input_shape": [3, 64, 64]}
MLP = {"architecture": "mlp", "num_classes": 10, "input_shape": [1, 28, 28], "hidden": [20, 10]}


def test_a_layer_depends_on_the_modules_the_forward_pass_calls_until_it():
    assert tensors_for(ALEXNET, ["features.10"]) == {
        f"features.{i}.{kind}" for i in (0, 3, 6, 8, 10) for kind in ("weight", "bias")
    }
    assert tensors_for(ALEXNET, ["features.0"]) == {"features.0.weight", "features.0.bias"}
    block = tensors_for(RESNET, ["layer1.1"])
    assert block == tensors_for(RESNET, ["conv1", "layer1.1.conv2"])  # the block ends at conv2
    assert {key.split(".")[0] for key in block} == {"conv1", "layer1"}
    assert tensors_for(MLP, ["fc2"]) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert tensors_for(MLP, None) == set(build_model(**MLP).state_dict())


class DefinedBackwards(nn.Module):
    """Modules defined in the opposite order of the forward pass: module order would say that
    ``late`` needs nothing before it."""

    def __init__(self):
        super().__init__()
        self.late = nn.Linear(4, 3)
        self.early = nn.Linear(5, 4)

    def forward(self, x):
        return self.late(self.early(x))


def test_the_scope_follows_the_forward_pass_not_the_module_order():
    keys = tensors_of(DefinedBackwards(), ["late"], [5])
    assert {"early.weight", "early.bias", "late.weight", "late.bias"} <= keys


def saved(tmp_path, network, layers, step="0_10"):
    """A trained-looking network and a checkpoint of it that holds ``layers``' tensors alone."""
    torch.manual_seed(0)
    model = build_model(**network).eval()
    path = tmp_path / f"{step}.safetensors"
    scope = ",".join(layers)
    metadata = {"model": "alexnet", "step": step, "scope": scope}
    save_checkpoint(model, path, metadata, tensors_for(network, layers))
    return model, path


def test_a_network_read_for_its_layers_computes_them_as_the_whole_one_does(tmp_path):
    model, path = saved(tmp_path, ALEXNET, ["features.0", "features.10"])
    assert set(load_file(path)) == tensors_for(ALEXNET, ["features.10"])
    assert path.stat().st_size < 0.05 * 228e6  # 10 MB of 228: no fully connected layer
    x = torch.randn(2, 3, 64, 64)
    for layer in ("features.0", "features.3", "features.10"):
        network = load_network(ALEXNET, path, layers=[layer]).to("cpu")
        assert torch.equal(Tap(network, layer)(x), Tap(model, layer)(x))


def test_a_forward_pass_past_the_saved_layers_fails_instead_of_using_random_weights(tmp_path):
    _, path = saved(tmp_path, ALEXNET, ["features.10"])
    network = load_network(ALEXNET, path, layers=["features.10"])
    assert isinstance(network.classifier, NotInCheckpoint)
    with pytest.raises(CheckpointError, match="'classifier' has no weights here"):
        network(torch.randn(1, 3, 64, 64))


def test_reading_a_checkpoint_for_more_than_it_holds_names_the_step_and_tensors(tmp_path):
    _, path = saved(tmp_path, ALEXNET, ["features.3"], step="1_100")
    for layers in (None, ["features.10"]):
        with pytest.raises(CheckpointError) as error:
            load_network(ALEXNET, path, layers=layers)
        message = str(error.value)
        assert "step 1_100" in message and "features.6.weight" in message
        assert "models.alexnet.whole" in message
    # a whole checkpoint of another network is a config change, said as one
    save_checkpoint(build_model(**MLP), tmp_path / "mlp.safetensors", {"step": "0_1"})
    other = {**MLP, "hidden": [20, 10, 5]}
    with pytest.raises(CheckpointError, match="does not fit the model in the config"):
        load_network(other, tmp_path / "mlp.safetensors")


def test_training_saves_the_whole_network_only_at_whole_steps_and_measures_gradients(tmp_path):
    """The test config's MLP (layers fc1, fc2; hidden 32, 16): each scheduled checkpoint holds
    fc1 and fc2 alone but the classifier step's, which is whole; the gradient ratio the training
    measured at the whole step equals the diagnostics arithmetic on that checkpoint read back,
    bit for bit."""
    from invertibility.data.datasets import holdout_set
    from invertibility.jobs.train_job import run_training
    from invertibility.methods.grad_ratio import GRAD_IMAGES, grad_ratios_below

    spec = Plan(load_config(ROOT / "config" / "test.yaml")).training.spec("mlp", 0)
    spec["schedule"] = [(s, i, str(tmp_path / f"{s}.safetensors")) for s, i, _ in spec["schedule"]]
    tables = {name: str(tmp_path / f"{name}.parquet") for name in ("t", "a", "b", "g")}
    run_training(spec, *tables.values(), progress=False)
    layers = list(spec["layers"].values())
    for step, _, path in spec["schedule"]:
        whole = step in spec["whole_steps"]
        expected = tensors_for(spec["network"], None if whole else layers)
        assert set(load_file(path)) == expected, step
        assert checkpoint_metadata(path)["scope"] == ("whole" if whole else "fc1,fc2")
    assert set(load_file(spec["schedule"][0][2])) == {
        f"fc{i}.{k}" for i in (1, 2) for k in ("weight", "bias")
    }

    gradients = pd.read_parquet(tables["g"])
    assert len(gradients) == len(spec["schedule"]) * len(layers)
    held = holdout_set(spec["dataset"])
    step, _, path = next(e for e in spec["schedule"] if e[0] in spec["whole_steps"])
    read_back = grad_ratios_below(
        load_network(spec["network"], path),
        layers,
        held.images[:GRAD_IMAGES].contiguous(),
        held.labels[:GRAD_IMAGES].to(torch.int64),
    )
    measured = gradients[gradients["step"] == step].set_index("layer")["grad_ratio_below"]
    assert {layer: measured[layer] for layer in spec["layers"]} == read_back


def test_a_reader_of_the_whole_network_needs_a_whole_step(test_config):
    """A label judge's step and the experiment's t0 must be saved whole; ``whole`` makes them."""
    config = {**test_config, "models": {**test_config["models"]}}
    judge = dict(config["models"]["judge32"])
    judge["checkpoints"] = ["0_5", "1_0"]
    judge["classifier_step"] = "1_0"
    config["models"]["judge32"] = judge
    step = config["analyses"]["label_judges"]["mnist32"]
    config["analyses"] = {
        **config["analyses"],
        "label_judges": {"mnist32": {**step, "step": "0_5"}},
    }
    with pytest.raises(ConfigError, match=r"label_judges\.mnist32\.step: .*models\.judge32\.whole"):
        check_config(config)
    judge["whole"] = ["0_5"]
    check_config(config)
    judge["whole"] = ["0_7"]
    with pytest.raises(ConfigError, match=r"models\.judge32\.whole\[0\]: step 0_7"):
        check_config(config)
