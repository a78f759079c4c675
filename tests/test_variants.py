"""Architecture variants: skip connections, residual scale, batch norm (built and inverted
right), and the config errors for options that do not apply."""

import copy

import pytest
import torch
from conftest import SCHEMA
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate
from test_plan import mutate
from torch import nn

from invertibility.core.errors import ConfigError
from invertibility.core.inversion_settings import InversionSettings
from invertibility.methods.inversion import initial_images, invert
from invertibility.nets.checkpoints import load_network, save_checkpoint
from invertibility.nets.models import build_model, describe_layers
from invertibility.nets.resnet import BasicBlock, resnet18, resnet18_nobn
from invertibility.nets.taps import Tap
from invertibility.planning.plan import Plan

SHAPE = (3, 32, 32)


def zero_residual_branch(block: BasicBlock) -> None:
    """F(x) = 0: both convolutions (and their biases) zeroed."""
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            conv.weight.zero_()
            if conv.bias is not None:
                conv.bias.zero_()


def test_a_skipless_block_has_no_identity_path():
    torch.manual_seed(0)
    block = resnet18_nobn(10, skip=False).layer1[1].eval()
    with_skip = resnet18_nobn(10).layer1[1].eval()
    for b in (block, with_skip):
        zero_residual_branch(b)
    x = torch.rand(2, 64, 8, 8)  # non-negative: relu(x) = x
    assert torch.equal(block(x), torch.zeros_like(x))  # relu(F(x)) with F = 0: nothing passes
    torch.testing.assert_close(with_skip(x), x)  # relu(x + F(x)) = x
    # no projections anywhere, and the config's layers still resolve
    model = resnet18_nobn(10, skip=False)
    assert all(m.downsample is None for m in model.modules() if isinstance(m, BasicBlock))
    names = describe_layers("resnet18_nobn", 10, SHAPE, options={"skip": False})
    assert {"conv1", "layer1.1.conv2", "layer1.1", "layer2.0.conv1"} <= set(names)
    assert "layer2.0.downsample" not in names and "layer2.0.downsample" in describe_layers(
        "resnet18_nobn", 10, SHAPE
    )
    assert build_model("resnet18_nobn", 10, SHAPE, options={"skip": False})(
        torch.rand(1, *SHAPE)
    ).shape == (1, 10)


def test_residual_scale_one_is_todays_model_and_h_scales_the_branch():
    torch.manual_seed(1)
    today = resnet18_nobn(10)
    torch.manual_seed(1)
    h_one = build_model("resnet18_nobn", 10, SHAPE, options={"residual_scale": 1.0})
    for (name, a), (_, b) in zip(
        today.state_dict().items(), h_one.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    x = torch.rand(2, *SHAPE)
    assert torch.equal(today.eval()(x), h_one.eval()(x))
    # relu(x + h F(x)), F read off the h = 1 block with the identity subtracted away
    torch.manual_seed(2)
    block = resnet18_nobn(10).layer1[1].eval()
    torch.manual_seed(2)
    scaled = resnet18_nobn(10, residual_scale=0.3).layer1[1].eval()
    y = torch.randn(2, 64, 8, 8)
    residual = block.conv2(block.relu(block.conv1(y)))
    torch.testing.assert_close(scaled(y), torch.relu(y + 0.3 * residual))


def test_batch_norm_variant_has_bn_and_no_conv_biases():
    model = resnet18(10, batch_norm=True)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d))
    plain = resnet18(10, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert all(m.bias is not None for m in plain.modules() if isinstance(m, nn.Conv2d))


def trained_bn_checkpoint(tmp_path, steps: int, name: str) -> str:
    """A BN ResNet after ``steps`` train-mode passes (running statistics moved), saved."""
    torch.manual_seed(0)
    model = resnet18(10, batch_norm=True).train()
    with torch.no_grad():
        for _ in range(steps):
            model(torch.rand(8, *SHAPE) * 3)
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(model, path, {"step": name})
    return str(path)


NETWORK = {
    "architecture": "resnet18",
    "num_classes": 10,
    "input_shape": list(SHAPE),
    "options": {"batch_norm": True},
}


def test_bn_network_is_inverted_with_its_own_steps_running_statistics(tmp_path):
    early = load_network(NETWORK, trained_bn_checkpoint(tmp_path, 1, "t"))
    late = load_network(NETWORK, trained_bn_checkpoint(tmp_path, 5, "tp"))
    assert not early.training and not late.training
    assert not torch.equal(early.bn1.running_mean, late.bn1.running_mean)
    x = torch.rand(3, *SHAPE)
    # layer output computed by hand with the checkpoint's own running statistics
    conv = early.conv1(x)
    bn = early.bn1
    expected = (conv - bn.running_mean[:, None, None]) / torch.sqrt(
        bn.running_var[:, None, None] + bn.eps
    ) * bn.weight[:, None, None] + bn.bias[:, None, None]
    torch.testing.assert_close(Tap(early, "bn1")(x), expected)
    assert not torch.allclose(Tap(early, "bn1")(x), Tap(late, "bn1")(x))


def test_bn_inversion_of_one_image_does_not_depend_on_the_others_in_its_batch(tmp_path):
    network = load_network(NETWORK, trained_bn_checkpoint(tmp_path, 3, "t"))
    forward = Tap(network, "layer1.1")
    torch.manual_seed(5)
    images = torch.rand(3, *SHAPE)
    ids = ["a", "b", "c"]
    init = initial_images(ids, SHAPE, 0.1, seed=0)
    settings = InversionSettings(iterations=20, lr=50.0)
    with torch.no_grad():
        target = forward(images)
    first = invert(forward, target[[0, 1]], init[[0, 1]], settings, progress=False)
    second = invert(forward, target[[0, 2]], init[[0, 2]], settings, progress=False)
    torch.testing.assert_close(
        first.reconstructions[0], second.reconstructions[0], atol=1e-5, rtol=1e-5
    )
    assert not torch.allclose(first.reconstructions[1], second.reconstructions[1])


@pytest.mark.parametrize(
    "path, value, message",
    [
        (
            ["models", "mlp", "skip"],
            False,
            r"models.mlp.skip: the option 'skip' does not apply to architecture 'mlp'",
        ),
        (
            ["models", "resnet18_nobn", "batch_norm"],
            True,
            r"models.resnet18_nobn.batch_norm: the option 'batch_norm' does not apply to "
            r"architecture 'resnet18_nobn' \(its options: skip, residual_scale\)",
        ),
        (
            ["models", "resnet18_nobn", "residual_scale"],
            0.0,
            r"models.resnet18_nobn.residual_scale: h = 0.0 is outside \(0, 1\]",
        ),
        (
            ["models", "resnet18_nobn", "residual_scale"],
            1.5,
            r"models.resnet18_nobn.residual_scale: h = 1.5 is outside \(0, 1\]",
        ),
        (
            ["models", "mlp", "hidden"],
            [128, 0, 32],
            r"models.mlp.hidden: every width must be at least 1: \[128, 0, 32\]",
        ),
    ],
)
def test_an_option_that_does_not_apply_or_is_out_of_range_is_a_config_error(
    test_config, path, value, message
):
    with pytest.raises(ConfigError, match=message):
        Plan(mutate(test_config, path, value))


def test_a_bn_model_asked_to_invert_in_train_mode_is_a_config_error(test_config):
    config = copy.deepcopy(test_config)
    resnet = config["models"]["resnet18_nobn"]
    resnet["architecture"], resnet["batch_norm"] = "resnet18", True
    Plan(config)  # eval mode (the default) is fine
    resnet["inversion"] = {"network_mode": "train"}
    with pytest.raises(
        ConfigError,
        match=r"models.resnet18_nobn.inversion.network_mode: 'train', but 'resnet18_nobn' has "
        r"batch norm",
    ):
        Plan(config)
    del resnet["inversion"]
    config["inversion"]["network_mode"] = "train"  # the global setting applies too
    with pytest.raises(ConfigError, match="has batch norm"):
        Plan(config)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (["models", "mlp", "hidden"], [128, 0], r"0 is less than the minimum of 1"),
        (["models", "resnet18_nobn", "residual_scale"], 0, r"less than or equal to the minimum"),
        (["models", "resnet18_nobn", "residual_scale"], 2, r"2 is greater than the maximum of 1"),
        (["models", "resnet18_nobn", "skip"], "no", r"'no' is not of type 'boolean'"),
    ],
)
def test_schema_catches_widths_and_scales_before_any_job(test_config, path, value, message):
    with pytest.raises(WorkflowError, match=message):
        validate(mutate(test_config, path, value), str(SCHEMA))


def test_variant_options_reach_the_network_spec_only_where_set(test_config):
    config = copy.deepcopy(test_config)
    config["models"]["resnet18_nobn"]["skip"] = False
    plan = Plan(config)
    assert plan.network_spec("resnet18_nobn")["options"] == {"skip": False}
    assert "options" not in plan.network_spec("mlp")  # a plain model's spec is unchanged
    net = build_model(**plan.network_spec("resnet18_nobn"))
    assert all(m.downsample is None for m in net.modules() if isinstance(m, BasicBlock))


def test_the_ablations_overlay_keeps_every_default_grid_and_claim_and_plans(default_config):
    """config/ablations.yaml is merged over config.yaml (Snakemake replaces lists): it must
    repeat the default's grids and claims, then add its own."""
    from conftest import ROOT, merge_configs

    merged = merge_configs(ROOT / "config.yaml", ROOT / "config" / "ablations.yaml")
    for key in ("grids", "claims"):
        for entry in default_config["analyses"][key]:
            assert entry in merged["analyses"][key], entry
    plan = Plan(merged)
    assert plan.network_spec("resnet18_noskip")["options"] == {"skip": False}
    assert plan.network_spec("resnet18_bn")["options"] == {"batch_norm": True}
    assert plan.seeds("mlp") == [0, 1, 2, 3, 4]
    kinds = [claim["kind"] for claim in plan.claims()]
    assert kinds.count("trend") == 4 and sum(c.get("two_sided", False) for c in plan.claims()) == 2
    # a default model's training is untouched by the overlay (its spec, seed 0)
    assert plan.training.spec("mlp", 0) == Plan(default_config).training.spec("mlp", 0)


def test_the_verdicts_overlay_adds_seeds_and_changes_no_training(default_config):
    """config/verdicts.yaml: the planned seeds of every model of the primary claims (five of the
    MLPs, nine of the conv nets), the default's claims untouched, and seed 0 trains exactly as
    in the default run."""
    from conftest import ROOT, merge_configs

    merged = merge_configs(ROOT / "config.yaml", ROOT / "config" / "verdicts.yaml")
    plan = Plan(merged)
    planned = {"mlp": 5, "mlp_wide": 5, "alexnet": 9, "resnet18_nobn": 9}
    for model, n_seeds in planned.items():
        assert plan.seeds(model) == list(range(n_seeds))
        assert plan.training.spec(model, 0) == Plan(default_config).training.spec(model, 0)
    assert merged["analyses"]["claims"] == default_config["analyses"]["claims"]
