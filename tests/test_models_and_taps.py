import pytest
import torch
from torch import nn

from invertibility.core.errors import ConfigError
from invertibility.jobs.invert_job import weight_layout
from invertibility.nets.mlp import MLP
from invertibility.nets.models import build_model, describe_layers, network_on_meta
from invertibility.nets.resnet import resnet18_nobn
from invertibility.nets.taps import Tap


def test_mlp_has_the_papers_architecture():
    model = build_model("mlp", 10, (1, 28, 28), hidden=[2000, 1000, 100])
    shapes = [tuple(m.weight.shape) for m in model if isinstance(m, nn.Linear)]
    assert shapes == [(2000, 784), (1000, 2000), (100, 1000), (10, 100)]
    assert {"fc1", "relu1", "fc4"} <= set(
        describe_layers("mlp", 10, (1, 28, 28), [2000, 1000, 100])
    )


def test_resnet18_nobn_has_no_normalization_and_biased_convs():
    model = resnet18_nobn(num_classes=10)
    norms = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)
    assert not any(isinstance(m, norms) for m in model.modules())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20  # 17 main-path convs + 3 downsample projections
    assert all(conv.bias is not None for conv in convs)
    assert model.fc.out_features == 10


def test_unknown_architecture_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown architecture 'vgg'"):
        build_model("vgg", 10, (3, 32, 32))


def full_forward_intermediate(model, layer, x):
    """The reference: run the whole model and record the layer's output with a plain hook."""
    store = {}
    module = dict(model.named_modules())[layer]

    def hook(_module, _inputs, output):  # returns None: a returned value would replace the output
        store["out"] = output.clone()

    handle = module.register_forward_hook(hook)
    model(x)
    handle.remove()
    return store["out"]


@pytest.mark.parametrize(
    "architecture, layer, shape",
    [
        ("mlp", "fc2", (1, 28, 28)),
        ("alexnet", "features.0", (3, 64, 64)),  # conv1, followed by an in-place ReLU
        ("alexnet", "features.10", (3, 64, 64)),  # conv5
        ("resnet18_nobn", "layer1.1.conv2", (3, 32, 32)),  # before the residual addition
        ("resnet18_nobn", "layer1.1", (3, 32, 32)),  # a block output, after the addition
    ],
)
def test_tap_equals_the_full_models_intermediate(architecture, layer, shape):
    torch.manual_seed(0)
    model = build_model(architecture, 10, shape, hidden=[32, 16]).eval()
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected = full_forward_intermediate(model, layer, x)
        got = Tap(model, layer)(x)
    torch.testing.assert_close(got, expected)


def test_tap_is_not_altered_by_a_later_inplace_relu():
    torch.manual_seed(0)
    model = build_model("alexnet", 10, (3, 64, 64)).eval()
    x = torch.randn(1, 3, 64, 64)
    conv1 = model.features[0]
    with torch.no_grad():
        tapped = Tap(model, "features.0")(x)
        assert (tapped < 0).any(), "conv1 output should have negatives that ReLU would clip"
        torch.testing.assert_close(tapped, conv1(x))


def test_truncation_computes_nothing_past_the_tap():
    model = build_model("resnet18_nobn", 10, (3, 32, 32))
    fired = []
    for name in ("layer1.1.relu", "layer2", "fc"):
        module = dict(model.named_modules())[name]
        module.register_forward_hook(lambda *_args, n=name: fired.append(n))
    Tap(model, "layer1.1.conv2")(torch.randn(1, 3, 32, 32))
    # layer1.1.relu runs once inside layer1.1 before conv2 (after conv1); never after conv2
    assert fired.count("layer1.1.relu") == 1 and "layer2" not in fired and "fc" not in fired


def test_gradients_flow_through_the_tap():
    model = MLP(16, [8], 3)
    x = torch.randn(2, 1, 4, 4, requires_grad=True)
    Tap(model, "fc1")(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_unknown_layer_lists_valid_names():
    model = MLP(16, [8], 3)
    with pytest.raises(ConfigError, match=r"unknown layer 'fc9'.*fc1.*relu1.*fc2"):
        Tap(model, "fc9")


@pytest.mark.parametrize("architecture", ["alexnet", "resnet18_nobn"])
def test_conv_nets_are_torchvisions_module_for_module(architecture):
    """Same module paths, same initialization under the same seed, same outputs."""
    from torchvision import models as tv

    torch.manual_seed(3)
    ours = build_model(architecture, 10, (3, 64, 64))
    torch.manual_seed(3)
    if architecture == "alexnet":
        reference = tv.alexnet(num_classes=10)
    else:
        reference = tv.resnet18(num_classes=10, norm_layer=nn.Identity)
        for module in reference.modules():  # the paper's conv biases, as add_conv_biases adds
            if isinstance(module, nn.Conv2d) and module.bias is None:
                module.bias = nn.Parameter(torch.zeros(module.out_channels))
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in reference.named_modules()]
    theirs = reference.state_dict()
    assert list(ours.state_dict()) == list(theirs)
    for name, tensor in ours.state_dict().items():
        assert torch.equal(tensor, theirs[name]), name
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(ours.eval()(x), reference.eval()(x))


@pytest.mark.parametrize(
    "architecture, shape, contiguous, channels_last",
    [
        ("alexnet", (3, 64, 64), "features.0", ["features.3", "features.10"]),
        ("resnet18_nobn", (3, 64, 64), "conv1", ["layer1.1.conv2", "layer1.1"]),
    ],
)
def test_inversions_of_the_first_conv_keep_the_default_layout(
    architecture, shape, contiguous, channels_last
):
    """Channels-last for every inverted conv layer but the first (3 input channels)."""
    net = network_on_meta(architecture, 10, shape)
    assert weight_layout(net, contiguous) == torch.contiguous_format
    for module in channels_last:
        assert weight_layout(net, module) == torch.channels_last, module
