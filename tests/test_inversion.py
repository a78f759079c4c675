import numpy as np
import pytest
import torch

from invertibility.core.inversion_io import largest_differences
from invertibility.core.inversion_settings import InversionSettings, layer_settings
from invertibility.methods.inversion import (
    initial_images,
    invert,
    invert_in_chunks,
    invert_with_retry,
)
from invertibility.methods.objectives import alpha_norm, relative_feature_loss, total_variation
from invertibility.nets.mlp import MLP
from invertibility.nets.models import build_model, parameters_up_to
from invertibility.nets.taps import Tap, weight_drift

SETTINGS = InversionSettings(iterations=150, lr=5.0, lambda_tv=0.001, lambda_alpha=1e-6)


@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = MLP(64, [256, 32], 10).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    images = torch.rand(6, 1, 8, 8) * 2 - 0.5
    ids = [f"img{i}" for i in range(len(images))]
    init = initial_images(ids, images.shape[1:], 0.1, seed=0)
    return model, images, init


def relative_error(forward, x, target):
    return (forward(x) - target).flatten(1).norm(dim=1) / target.flatten(1).norm(dim=1)


def test_inversion_lowers_the_feature_error_and_reaches_a_small_one_when_tp_equals_t(setup):
    model, images, init = setup
    forward = Tap(model, "fc1")
    target = forward(images)
    before = relative_error(forward, init, target)
    result = invert(forward, target, init, SETTINGS, progress=False)
    assert (result.feature_error < before).all()
    assert result.feature_error.max() < 0.05, result.feature_error  # tp == t: a perfect target
    assert not result.diverged.any()
    # with 256 overcomplete features the image itself is recovered
    image_error = (result.reconstructions - images).flatten(1).norm(dim=1) / images.flatten(1).norm(
        dim=1
    )
    assert image_error.max() < 0.2


def test_batched_equals_one_image_at_a_time(setup):
    model, images, init = setup
    forward = Tap(model, "fc2")
    target = forward(images)
    batched = invert(forward, target, init, SETTINGS, progress=False)
    for i in range(len(images)):
        single = invert(forward, target[i : i + 1], init[i : i + 1], SETTINGS, progress=False)
        torch.testing.assert_close(
            single.reconstructions[0], batched.reconstructions[i], atol=1e-4, rtol=1e-4
        )


def test_initialization_is_fixed_per_image_id_whatever_the_batch():
    a = initial_images(["x", "y", "z"], (1, 4, 4), 0.1, seed=3)
    b = initial_images(["z", "x"], (1, 4, 4), 0.1, seed=3)
    torch.testing.assert_close(a[0], b[1])
    torch.testing.assert_close(a[2], b[0])
    assert not torch.equal(a[0], initial_images(["x"], (1, 4, 4), 0.1, seed=4)[0])


def test_an_image_that_diverges_is_marked_and_the_rest_go_on(setup):
    model, images, init = setup
    tap = Tap(model, "fc1")
    target = tap(images)

    def forward(x):  # image 2 produces NaN features, as an exploding network would
        out = tap(x)
        poison = torch.zeros_like(out)
        poison[2] = float("nan")
        return out + poison

    result = invert(forward, target, init, SETTINGS, progress=False)
    assert result.diverged.tolist() == [False, False, True, False, False, False]
    assert torch.isnan(result.reconstructions[2]).all()
    healthy = invert(tap, target, init, SETTINGS, progress=False)
    keep = [0, 1, 3, 4, 5]
    torch.testing.assert_close(result.reconstructions[keep], healthy.reconstructions[keep])


def test_out_of_memory_splits_the_batch_and_gives_the_same_result(setup):
    model, images, init = setup
    tap = Tap(model, "fc1")
    target = tap(images)
    sizes = []

    def forward(x):  # simulate a GPU that cannot hold more than 2 images
        sizes.append(len(x))
        if len(x) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return tap(x)

    result = invert_in_chunks(forward, target, init, SETTINGS, progress=False)
    reference = invert(tap, target, init, SETTINGS, progress=False)
    torch.testing.assert_close(
        result.reconstructions, reference.reconstructions, atol=1e-4, rtol=1e-4
    )
    assert max(sizes[-10:]) <= 2


def test_other_errors_are_not_swallowed(setup):
    model, images, init = setup

    def forward(_x):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        invert_in_chunks(forward, images, init, SETTINGS, progress=False)


def test_conv_inversion_runs_under_truncation():
    torch.manual_seed(0)
    model = build_model("resnet18_nobn", 10, (3, 32, 32)).eval()
    forward = Tap(model, "conv1")
    images = torch.randn(2, 3, 32, 32)
    target = forward(images).detach()
    init = initial_images(["a", "b"], (3, 32, 32), 0.1, 0)
    settings = InversionSettings(iterations=30, lr=1.0)
    before = relative_error(forward, init, target)
    result = invert(forward, target, init, settings, progress=False)
    assert (result.feature_error < before).all()


def test_mahendran_vedaldi_schedule_cuts_the_step_to_a_tenth_then_a_hundredth():
    settings = InversionSettings(iterations=300, lr=5.0, decay_at=(0.5, 0.8))
    steps = {i: settings.lr_at(i) for i in (0, 149, 150, 239, 240, 299)}
    assert steps == pytest.approx({0: 5.0, 149: 5.0, 150: 0.5, 239: 0.5, 240: 0.05, 299: 0.05})
    assert settings.cuts() == {150, 240}


def reference_invert(forward, target, init, settings):
    """The objective through autograd and ``torch.optim.SGD``, the momentum restarted at each
    cut: what ``invert`` computes with its gradients in closed form."""
    x = init.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([x], lr=settings.lr, momentum=settings.momentum)
    for iteration in range(settings.iterations):
        if iteration in settings.cuts():
            optimizer.param_groups[0]["lr"] = settings.lr_at(iteration)
            optimizer.state[x].pop("momentum_buffer", None)
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.autocast):
            features = forward(x)
        per_image = (
            relative_feature_loss(features, target)
            + settings.lambda_alpha * alpha_norm(x, settings.alpha, settings.alpha_bound)
            + settings.lambda_tv * total_variation(x, settings.beta, settings.tv_bound)
        )
        per_image.sum().backward()
        optimizer.step()
    return x.detach()


def grey_conv(x):
    """A conv after a channel sum: its gradient comes back expanded (stride 0)."""
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(1, 4, 3).requires_grad_(False)
    return conv(x.sum(1, keepdim=True))


@pytest.mark.parametrize(
    "layer, settings",
    [
        ("fc1", {}),
        ("fc2", {"alpha": 3.5, "beta": 1.5}),
        ("conv", {"alpha": 2, "beta": 1}),
        ("flatten", {}),  # views only: the gradient is the data term's buffer itself
        ("grey conv", {}),
        ("fc1", {"autocast": True}),
    ],
)
def test_the_closed_form_loop_follows_autograd_and_torch_sgd(setup, layer, settings):
    """Priors strong enough to steer, and two cuts (each restarts the momentum): the
    reconstructions of the closed-form loop and of the autograd reference agree."""
    model, images, init = setup
    if layer == "conv":
        torch.manual_seed(1)
        forward = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU()).eval()
        forward.requires_grad_(False)
    elif layer == "grey conv":
        forward, images, init = grey_conv, images.expand(-1, 3, -1, -1), init.repeat(1, 3, 1, 1)
    else:
        forward = Tap(model, layer)
    settings = InversionSettings(
        iterations=40, lr=1.0, decay_at=(0.5, 0.75), lambda_alpha=0.01, lambda_tv=0.05, **settings
    )
    target = forward(images)
    result = invert(forward, target, init, settings, progress=False)
    reference = reference_invert(forward, target, init, settings)
    assert not torch.allclose(reference, init, atol=1e-2)  # the images moved
    # bfloat16 features: the two orders of the same products may round apart by one bf16 step
    tolerance = {"rtol": 1e-2, "atol": 1e-3} if settings.autocast else {"rtol": 1e-4, "atol": 1e-5}
    torch.testing.assert_close(result.reconstructions, reference, **tolerance)


def test_the_depth_scales_the_tv_weight_as_mahendran_and_vedaldi():
    config = {"lambda_tv": 0.001, "tv_depth_growth": 10**0.5, "iterations": 300}
    conv1, conv5 = layer_settings(config, 1), layer_settings(config, 5)
    assert conv5["lambda_tv"] / conv1["lambda_tv"] == pytest.approx(100.0)  # M&V: 0.5 -> 50
    assert conv1["iterations"] == conv5["iterations"] == 300
    assert "tv_depth_growth" not in conv5 and conv5["depth"] == 5
    InversionSettings(**conv5)  # a resolved entry is a complete settings record


def test_a_diverged_image_is_retried_alone_with_a_smaller_step(setup):
    model, images, init = setup
    forward = Tap(model, "fc1")
    target = forward(images)
    # a step this large blows every image up; the retry's step (1e-6 of it) does not
    settings = InversionSettings(iterations=30, lr=1e6, retry_lr_factor=1e-6)
    result, retried, final_lr = invert_with_retry(forward, target, init, settings, progress=False)
    assert retried.all() and (final_lr == 1.0).all()
    assert not result.diverged.any() and torch.isfinite(result.reconstructions).all()
    assert (result.feature_error < relative_error(forward, init, target)).all()


def test_the_retry_ladder_cuts_the_step_again_until_the_image_converges(setup, caplog):
    """Steps 1e6 and 1e3 diverge on this layer; 1 converges: two cuts of 1e-3 each, recorded
    per image. With one cut allowed, the images stay diverged at the step last tried."""
    model, images, init = setup
    forward = Tap(model, "fc1")
    target = forward(images)
    settings = InversionSettings(iterations=30, lr=1e6, retry_lr_factor=1e-3, retries=3)
    with caplog.at_level("WARNING"):
        result, retried, final_lr = invert_with_retry(forward, target, init, settings, False)
    assert retried.all() and not result.diverged.any()
    assert (final_lr == 1.0).all()  # 1e6 * (1e-3)**2, never the third cut
    assert "lr 1000" in caplog.text and "lr 1e-" not in caplog.text
    once = InversionSettings(iterations=30, lr=1e6, retry_lr_factor=1e-3, retries=1)
    result, retried, final_lr = invert_with_retry(forward, target, init, once, False)
    assert result.diverged.all() and torch.isnan(result.reconstructions).all()
    assert (final_lr == 1e3).all()
    # an image that converges at the first cut is exactly its inversion at that step
    first = InversionSettings(iterations=30, lr=1e3, retry_lr_factor=1e-3, retries=3)
    result, _, final_lr = invert_with_retry(forward, target, init, first, False)
    alone = invert(forward, target[:1], init[:1], first.with_lr(1.0), progress=False)
    assert final_lr[0] == 1.0 and torch.equal(result.reconstructions[:1], alone.reconstructions)
    never = InversionSettings(iterations=30, lr=1e6, retries=0)
    result, retried, final_lr = invert_with_retry(forward, target, init, never, False)
    assert result.diverged.all() and not retried.any() and (final_lr == 1e6).all()


def test_a_forward_pass_that_always_diverges_spends_the_ladder_and_stays_marked(setup):
    model, images, init = setup
    tap = Tap(model, "fc1")

    def exploding(x):  # overflows to inf at any step: nothing the ladder can fix
        return tap(x) * 1e38 * 1e38

    target = tap(images)
    settings = InversionSettings(iterations=10, lr=5.0, retry_lr_factor=0.1, retries=3)
    result, retried, final_lr = invert_with_retry(exploding, target, init, settings, False)
    assert retried.all() and result.diverged.all()
    assert torch.allclose(final_lr, torch.full_like(final_lr, 5e-3))


def test_weight_drift_counts_the_layers_up_to_the_tap_only():
    torch.manual_seed(0)
    before = MLP(16, [8, 8], 3)
    after = MLP(16, [8, 8], 3)
    after.load_state_dict(before.state_dict())
    with torch.no_grad():
        after.fc2.weight.add_(1.0)  # moves fc2, not fc1
    assert weight_drift(before, after, "fc1") == 0.0
    assert weight_drift(before, after, "fc2") > 0.0
    assert parameters_up_to(before, "fc2") == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_largest_differences_measures_each_key_of_two_inversion_files():
    ours = {"reconstructions": np.array([[0.5, np.nan]]), "rank": np.array([0.0, np.nan])}
    ours |= {"diverged": np.array([False, True]), "drift": float("nan"), "p": 3, "lr": 5.0}
    ours |= {"loop_seconds": 1.0}
    same = largest_differences(ours, dict(ours, loop_seconds=9.0))  # a wall time is left out
    assert same == dict.fromkeys(["diverged", "drift", "lr", "p", "rank", "reconstructions"], 0.0)
    theirs = dict(ours, reconstructions=np.array([[0.25, np.nan]]), rank=np.array([0.0, 1.0]))
    theirs |= {"diverged": np.array([True, False]), "drift": 0.1, "p": 4, "lr": 5.5}
    gaps = largest_differences(ours, theirs)
    assert gaps["reconstructions"] == 0.25 and gaps["rank"] == float("inf")
    assert gaps["diverged"] == 2 and gaps["p"] == 1 and gaps["lr"] == 0.5
    assert gaps["drift"] == float("inf")  # NaN on one side only
    with pytest.raises(ValueError, match="keys"):
        largest_differences(ours, {"p": 3})


def test_at_the_conv_nets_step_the_two_loops_agree_in_float64():
    """At lr 200 a float32 rounding difference grows over the iterations (AlexNet's conv5 ends
    0.96 apart after 100 iterations, on random weights), so an inversion file is reproducible
    for one loop, not across loops that order their sums differently; in float64 the closed
    form and the autograd reference are the same iteration."""
    torch.manual_seed(0)
    net = build_model("alexnet", 10, (3, 64, 64)).double().eval().requires_grad_(False)
    forward = Tap(net, "features.3")
    images = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    init = initial_images(["a", "b"], (3, 64, 64), 0.1, 0).double()
    target = forward(images)
    settings = InversionSettings(iterations=60, lr=200.0, decay_at=(0.5, 0.8), lambda_tv=0.01)
    result = invert(forward, target, init, settings, progress=False)
    reference = reference_invert(forward, target, init, settings)
    assert (reference - init).abs().max() > 0.1
    # rounding at 1e-16 grows to about 1e-8 here: still a million times below a real difference
    torch.testing.assert_close(result.reconstructions, reference, rtol=0, atol=1e-6)
