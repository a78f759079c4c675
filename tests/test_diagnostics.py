"""Diagnostics: block probes during training, frame potential, representation change (CKA,
biased and debiased), the gradient-norm ratio below a layer, and the blocks a layer lies past."""

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from invertibility.methods.block_probe import BlockProbe, diagnostic_blocks
from invertibility.methods.grad_ratio import grad_ratios_below
from invertibility.methods.redundancy import frame_potential, gram_squared_norm
from invertibility.methods.similarity import (
    debiased_linear_cka,
    gram,
    linear_cka,
    representation_change,
)
from invertibility.methods.training import TrainSettings, train
from invertibility.nets.mlp import MLP
from invertibility.nets.models import blocks_up_to
from invertibility.nets.resnet import resnet18_nobn
from invertibility.nets.taps import get_module, relative_change


def test_frame_potential_of_an_orthonormal_frame_equals_its_minimum():
    q, _ = torch.linalg.qr(torch.randn(16, 16, dtype=torch.float64))
    assert frame_potential(q[:10]) == pytest.approx(1.0)  # 10 orthonormal rows in R^16
    assert frame_potential(3.0 * q) == pytest.approx(1.0)  # rows are unit-normalized first
    # a unit-norm tight frame with more rows than dimensions: the Mercedes-Benz frame
    angles = torch.tensor([0.0, 2 * math.pi / 3, 4 * math.pi / 3], dtype=torch.float64)
    mercedes = torch.stack([angles.cos(), angles.sin()], dim=1)
    assert frame_potential(mercedes) == pytest.approx(1.0)
    # redundancy raises it: N copies of one row give N^2 against a minimum of max(N, N^2 / d)
    copies = torch.ones(6, 4)
    assert frame_potential(copies) == pytest.approx(36 / 9)
    # a conv weight: its filters flattened
    conv = torch.randn(8, 3, 3, 3)
    assert frame_potential(conv) >= 1.0


def test_gram_squared_norm_by_blocks_equals_the_whole_gram(monkeypatch):
    rows = torch.randn(10, 7, dtype=torch.float64)
    whole = float((rows @ rows.T).pow(2).sum())
    for block in (1, 3, 4, 10, 64):  # one block, uneven blocks, one row per block
        monkeypatch.setattr("invertibility.methods.redundancy.GRAM_BLOCK", block)
        assert gram_squared_norm(rows) == pytest.approx(whole, rel=1e-12)


def test_frame_potential_in_float32_products_matches_float64():
    weight = torch.randn(300, 200, dtype=torch.float64)
    units = weight / weight.norm(dim=1, keepdim=True)
    exact = float((units.T @ units).pow(2).sum()) / (300 * 300 / 200)
    assert frame_potential(weight) == pytest.approx(exact, rel=1e-6)


def test_relative_change_is_over_all_listed_parameters():
    before = [torch.ones(3), torch.zeros(2)]
    after = [torch.ones(3) * 2, torch.ones(2)]
    assert relative_change(before, after) == pytest.approx(math.sqrt(5 / 3))


def test_cka_is_invariant_to_rotation_and_scale_and_low_for_unrelated():
    torch.manual_seed(0)
    x = torch.randn(200, 30, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(30, 30, dtype=torch.float64))
    assert linear_cka(x, 3.0 * x @ q) == pytest.approx(1.0)
    assert linear_cka(x, torch.randn(200, 30, dtype=torch.float64)) < 0.3
    change = representation_change(x, 2 * x)
    assert change["cosine"] == pytest.approx(1.0)
    assert change["relative_distance"] == pytest.approx(1.0)
    assert change["norm_distance"] == pytest.approx(float(x.norm(dim=1).mean()))


def test_cka_from_the_grams_equals_cka_of_the_centered_data():
    """The Grams are multiplied out once per step and centered afterwards (H K H); that equals
    the textbook estimator on mean-centered features, also for features far from zero mean
    (post-bias activations), and passing the Grams in changes nothing."""
    torch.manual_seed(0)
    x = torch.randn(60, 500, dtype=torch.float64) + 30.0
    y = 0.5 * x + torch.randn(60, 500, dtype=torch.float64)
    xc, yc = x - x.mean(0), y - y.mean(0)
    k, m = xc @ xc.T, yc @ yc.T
    textbook = float((k * m).sum() / (k.norm() * m.norm()))
    assert linear_cka(x, y) == pytest.approx(textbook, rel=1e-12)
    assert 0.2 < textbook < 0.99
    given = representation_change(x.float(), y.float(), (gram(x.float()), gram(y.float())))
    assert given == representation_change(x.float(), y.float())


def test_probe_matches_autograd_and_the_blocks_are_the_forward_order():
    torch.manual_seed(0)
    model = MLP(12, [8, 8], 3)
    assert diagnostic_blocks(model) == ["fc1", "fc2", "fc3"]
    x = torch.randn(5, 12)
    labels = torch.tensor([0, 1, 2, 0, 1])
    with BlockProbe(model) as probe:
        loss = nn.functional.cross_entropy(model(x), labels)
        loss.backward()
    rows = {row["block"]: row for row in probe.rows()}
    # by hand: the same pass with the intermediate tensors kept
    xin = x.clone().requires_grad_(True)
    h1 = model.fc1(xin)
    a1 = torch.relu(h1)
    h2 = model.fc2(a1)
    h2.retain_grad(), h1.retain_grad(), a1.retain_grad()
    out = model.fc3(torch.relu(h2))
    nn.functional.cross_entropy(out, labels).backward()
    assert rows["fc1"]["grad_in"] == pytest.approx(float(xin.grad.norm()), rel=1e-5)
    assert rows["fc1"]["grad_out"] == pytest.approx(float(h1.grad.norm()), rel=1e-5)
    assert rows["fc2"]["grad_in"] == pytest.approx(float(a1.grad.norm()), rel=1e-5)
    assert rows["fc2"]["grad_ratio"] == pytest.approx(
        float(a1.grad.norm() / h2.grad.norm()), rel=1e-5
    )
    assert rows["fc2"]["residual_step"] == pytest.approx(
        float(((h2 - a1).norm(dim=1) / a1.norm(dim=1)).mean().detach()), rel=1e-5
    )
    assert math.isnan(rows["fc1"]["residual_step"])  # 12 -> 8: the shape changes
    assert rows["fc3"]["feature_norm"] == pytest.approx(
        float(out.detach().norm(dim=1).mean()), rel=1e-5
    )


def test_probe_sees_through_in_place_relus_of_a_resnet():
    torch.manual_seed(0)
    model = resnet18_nobn(10).train()
    assert diagnostic_blocks(model)[:3] == ["conv1", "layer1.0", "layer1.1"]
    with BlockProbe(model) as probe:
        nn.functional.cross_entropy(model(torch.rand(4, 3, 32, 32)), torch.arange(4)).backward()
    rows = probe.rows()
    assert len(rows) == 9 and all(np.isfinite(r["grad_ratio"]) for r in rows)
    # one block's output is the next one's input: the same gradient seen from both sides
    assert rows[1]["grad_out"] == pytest.approx(rows[2]["grad_in"])
    assert np.isfinite(rows[2]["residual_step"]) and math.isnan(rows[3]["residual_step"])


def test_probing_never_changes_the_training(tmp_path):
    """Diagnostics on or off, the same seed gives bit-identical weights (an MLP: CPU maths)."""
    data = torch.utils.data.TensorDataset(torch.randn(64, 1, 4, 4), torch.randint(0, 3, (64,)))
    settings = TrainSettings(lr=0.1, momentum=0.9, batch_size=16, seed=0, diagnostics_every=2)
    saved = {}

    def run(on_probe):
        weights = {}

        def save(model, step):
            weights[step] = {k: v.clone() for k, v in model.state_dict().items()}

        torch.manual_seed(0)
        model = MLP(16, [8], 3)
        train(
            model,
            data,
            settings,
            [0, 6],
            4,
            save,
            torch.device("cpu"),
            progress=False,
            on_probe=on_probe,
        )
        return weights

    probes = []
    saved["on"] = run(lambda step, rows: probes.append(step))
    saved["off"] = run(None)
    for name, tensor in saved["on"][6].items():
        assert torch.equal(tensor, saved["off"][6][name]), name
    assert probes == [0, 2, 4]  # every 2nd step and the saved ones (0); 6 is the last


def test_blocks_up_to_a_layer():
    model = resnet18_nobn(10)
    blocks = diagnostic_blocks(model)
    assert blocks_up_to(model, "layer1.1.conv2", blocks) == ["conv1", "layer1.0"]
    assert blocks_up_to(model, "layer1.1", blocks) == ["conv1", "layer1.0", "layer1.1"]
    assert blocks_up_to(model, "conv1", blocks) == ["conv1"]
    mlp = MLP(12, [8, 8], 3)
    assert blocks_up_to(mlp, "fc2", diagnostic_blocks(mlp)) == ["fc1", "fc2"]


def replace_by_leaf(_module, _inputs, output, kept):
    """A forward hook: the layer's output becomes a new leaf (kept), and what flows on is a copy
    of it, so that an in-place ReLU after the layer does not touch the leaf."""
    kept.append(output.detach().clone().requires_grad_(True))
    return kept[-1].clone()


def test_grad_ratios_below_match_two_separate_autograd_passes_per_layer():
    """One backward pass gives dL/dx and dL/dr_l for every layer; checked against autograd run
    twice per layer: once for the input, once with r_l replaced by a leaf (in-place ReLUs after
    the layer included). Asking for the layers together gives what asking for each alone does."""
    torch.manual_seed(0)
    model = resnet18_nobn(10).eval()
    x = torch.randn(6, 3, 32, 32)
    labels = torch.arange(6) % 10
    modules = ["conv1", "layer1.1.conv2", "layer1.1"]
    together = grad_ratios_below(model, [*modules, "conv1"], x, labels)
    assert list(together) == modules
    for module in modules:
        alone = grad_ratios_below(model, [module], x, labels)[module]
        assert together[module] == pytest.approx(alone, rel=1e-9), module
        leaf_x = x.clone().requires_grad_(True)
        nn.functional.cross_entropy(model(leaf_x), labels).backward()
        leaves = []
        handle = get_module(model, module).register_forward_hook(
            functools.partial(replace_by_leaf, kept=leaves)
        )
        nn.functional.cross_entropy(model(x), labels).backward()
        handle.remove()
        expected = leaf_x.grad.norm() / leaves[0].grad.norm()
        assert together[module] == pytest.approx(float(expected), rel=1e-5), module


def test_debiased_cka_is_near_zero_for_unrelated_features_that_far_outnumber_images():
    """The biased estimator is inflated when features outnumber images; the debiased one is
    not, and both are 1 for a representation and its rotation."""
    torch.manual_seed(0)
    x = torch.randn(50, 5000, dtype=torch.float64)
    y = torch.randn(50, 5000, dtype=torch.float64)
    assert linear_cka(x, y) > 0.7
    assert abs(debiased_linear_cka(x, y)) < 0.05
    q, _ = torch.linalg.qr(torch.randn(40, 40, dtype=torch.float64))
    small = torch.randn(200, 40, dtype=torch.float64)
    assert debiased_linear_cka(small, 2.0 * small @ q) == pytest.approx(1.0)
    # many images, few features: the two estimators agree
    z = small + 0.5 * torch.randn(200, 40, dtype=torch.float64)
    assert debiased_linear_cka(small, z) == pytest.approx(linear_cka(small, z), abs=0.05)


def test_the_training_measures_the_ratio_as_a_checkpoint_read_back_in_eval_mode_would():
    """On a network with batch norm, in training mode: the ratio equals the diagnostics
    arithmetic on a frozen eval-mode copy, bit for bit, and the training is left as it was
    (mode, requires_grad, running statistics), so measuring it changes no training."""
    import copy

    from invertibility.methods.grad_ratio import saved_step_ratios
    from invertibility.nets.resnet import resnet18

    torch.manual_seed(0)
    net = resnet18(10).train()
    net(torch.randn(8, 3, 32, 32))  # running statistics away from their initial values
    x, labels = torch.randn(6, 3, 32, 32), torch.arange(6) % 10
    layers = {"conv1": "conv1", "block": "layer1.1"}
    frozen = copy.deepcopy(net).eval().requires_grad_(False)
    buffers = {name: b.clone() for name, b in net.named_buffers()}
    measured = saved_step_ratios(net, layers, x, labels)
    expected = grad_ratios_below(frozen, list(layers.values()), x, labels)
    assert measured == {"conv1": expected["conv1"], "block": expected["layer1.1"]}
    assert net.training and all(p.requires_grad for p in net.parameters())
    assert all(torch.equal(buffers[name], b) for name, b in net.named_buffers())
