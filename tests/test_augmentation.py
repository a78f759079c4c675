import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from invertibility.core.augmentation_settings import AugmentationSettings, Window
from invertibility.data.splits import draw_split
from invertibility.methods.augmentation import (
    ClassDrift,
    Split,
    Trajectory,
    arm_features,
    batches,
    fit_temperature,
    in_window,
    normal_training,
    rms_drift,
    same_class_partners,
    shifted,
    split_model,
    train_arm,
)
from invertibility.methods.repeatable import stream
from invertibility.nets.mlp import MLP

SETTINGS = AugmentationSettings(
    split="fc1",
    t0=6,
    windows=(Window("w", 0, 4, 2),),
    head_steps=12,
    eval_every=5,
    batch_size=8,
)


def data(n=60, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 1, 6, 6, generator=generator)
    labels = torch.arange(n) % 3
    return images, labels


def model(seed=0):
    torch.manual_seed(seed)
    return MLP(36, [16, 8], 3)


def normal(net, train, settings, seed):
    """Normal training's trajectory at ``settings.split``."""
    return normal_training(net, train, settings, seed)[settings.split]


def test_the_lower_part_and_the_head_compose_to_the_network_and_share_its_weights():
    net = model()
    lower, head = split_model(net, "fc2")
    x = torch.randn(5, 1, 6, 6)
    torch.testing.assert_close(head(lower(x)), net(x))
    assert lower.fc1.weight is net.fc1.weight and head.fc3.weight is net.fc3.weight
    with pytest.raises(ValueError, match="'conv9'"):
        split_model(net, "conv9")
    with pytest.raises(ValueError, match="'fc3'"):  # the logits have no head above them
        split_model(net, "fc3")


def test_the_trajectory_holds_the_state_at_t0_and_the_features_along_the_window():
    images, labels = data()
    trajectory = normal(model(), (images, labels), SETTINGS, seed=1)
    # the same training stopped at t0 (no window) leaves the same head, momentum and features
    at_t0 = normal(
        model(),
        (images, labels),
        AugmentationSettings(**{**vars(SETTINGS), "windows": ()}),
        1,
    )
    for a, b in zip(trajectory.head.parameters(), at_t0.head.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    for a, b in zip(trajectory.head_momentum, at_t0.head_momentum, strict=True):
        torch.testing.assert_close(a, b)
    assert all(m.abs().sum() > 0 for m in trajectory.head_momentum)  # t0 steps of momentum
    torch.testing.assert_close(trajectory.features_t0, trajectory.lower(images))
    # and stopped at the window's end, its features are the last grid step's
    at_end = AugmentationSettings(**{**vars(SETTINGS), "t0": 10, "windows": ()})
    end = normal(model(), (images, labels), at_end, 1)
    assert trajectory.grid_steps == [8, 10]
    torch.testing.assert_close(trajectory.features_grid[-1], end.features_t0)
    assert not torch.allclose(trajectory.features_grid[0], trajectory.features_t0)  # it drifted


def test_a_late_window_reads_its_own_steps_with_the_drift_scaled_to_the_early_ones_size():
    images, labels = data()
    windows = (Window("early", 0, 4, 4), Window("late", 8, 12, 2, match="early"))
    settings = AugmentationSettings(**{**vars(SETTINGS), "windows": windows})
    assert windows[0].steps(6) == [7, 8, 9, 10] and windows[1].steps(6) == [16, 18]
    trajectory = normal(model(), (images, labels), settings, seed=1)
    assert trajectory.grid_steps == [7, 8, 9, 10, 16, 18]
    early = in_window(trajectory, settings, "early")
    late = in_window(trajectory, settings, "late")
    assert early.grid_steps == [7, 8, 9, 10] and late.grid_steps == [16, 18]
    torch.testing.assert_close(early.features_grid, trajectory.features_grid[:4])
    assert rms_drift(late) == pytest.approx(rms_drift(early), rel=1e-5)
    # each late feature is r^t0 plus the trained drift times one factor
    base = trajectory.features_t0
    trained = trajectory.features_grid[4:] - base
    scale = rms_drift(early) / float(trained.pow(2).sum(-1).mean().sqrt())
    assert scale < 1  # the late window drifted further
    torch.testing.assert_close(late.features_grid, base + scale * trained)
    with pytest.raises(ValueError, match="no window 'middle'"):
        in_window(trajectory, settings, "middle")


def synthetic_trajectory(offsets):
    """Features at t0 and at two grid steps that add ``offsets`` [2, N, D] to them."""
    net = model()
    lower, head = split_model(net, "fc1")
    base = torch.randn(30, 16)
    return Trajectory(
        lower,
        head,
        [torch.zeros_like(p) for p in head.parameters()],
        base,
        base + offsets,
        [1, 2],
    )


def arm_draws(arm, trajectory, images, labels, index):
    streams = stream(0, "replay"), stream(0, arm)
    return arm_features(arm, index, trajectory, (images, labels), SETTINGS, streams, -0.4)


def test_each_arm_reads_the_features_it_claims():
    images, labels = data(30)
    own = torch.randn(2, 30, 16)  # each image's own drift at the two grid steps
    trajectory = synthetic_trajectory(own)
    index = torch.arange(30)
    base = trajectory.features_t0
    features = {
        arm: arm_draws(arm, trajectory, images, labels, index)
        for arm in ("static", "drift", "rescaled", "permuted")
    }
    torch.testing.assert_close(features["static"], base)
    # C: the image's own features at a grid step; C': their direction at the norm of r^t0
    rows = trajectory.features_grid.transpose(0, 1)  # [image, step, D]
    drift_step = (features["drift"][:, None] == rows).all(-1).float().argmax(-1)
    assert (features["drift"][:, None] == rows).all(-1).any(-1).all()
    own_at = rows[index, drift_step]
    cosine = torch.nn.functional.cosine_similarity(features["rescaled"], own_at, dim=1)
    torch.testing.assert_close(cosine, torch.ones(30))
    torch.testing.assert_close(features["rescaled"].norm(dim=1), base.norm(dim=1))
    # E: another image's drift of the same class, at the step C drew (a shared replay stream)
    added = features["permuted"] - base
    drifts = own[drift_step, :]  # [image, other image, D]: every image's drift at that step
    match = torch.isclose(added[:, None], drifts, atol=1e-5).all(-1)
    partner = match.float().argmax(-1)
    assert match.any(-1).all()
    assert (labels[partner] == labels).all() and (partner != index).all()


def test_shaped_noise_has_the_drifts_class_conditional_mean_and_covariance():
    """D: r^t0 plus Gaussian noise whose mean and covariance, per class, are those of the drift
    over the grid and the class's images; no draw is tied to an image's own drift."""
    images, labels = data(30)  # three classes of ten
    generator = torch.Generator().manual_seed(5)
    mixing = torch.randn(3, 16, 16, generator=generator)  # a different shape per class
    own = torch.randn(2, 30, 16, generator=generator)
    own = torch.einsum("kni,nij->knj", own, mixing[labels]) + 3.0 * labels[None, :, None]
    trajectory = synthetic_trajectory(own)
    drift = ClassDrift.of(trajectory, labels)
    for label in range(3):
        rows = own[:, labels == label].flatten(0, 1)  # 20 rows of the class's drift
        draws = drift.draw(torch.full((40000,), label), stream(0, "noise"))
        torch.testing.assert_close(draws.mean(0), rows.mean(0), atol=0.15, rtol=0)
        expected = torch.cov(rows.T)
        scale = expected.diagonal().max()
        torch.testing.assert_close(torch.cov(draws.T) / scale, expected / scale, atol=0.04, rtol=0)
    index = torch.arange(30)
    noisy = arm_features(
        "noise",
        index,
        trajectory,
        (images, labels),
        SETTINGS,
        (None, None),
        -0.4,
        drift.per_step([index], labels, stream(0, "n")),
    )
    # drawn a chunk of steps at a time: one draw per image of each step, in the steps' order
    order = [torch.tensor([0, 1, 2]), torch.tensor([3, 4]), torch.tensor([5, 6, 7, 8])]
    chunked = list(drift.per_step(order, labels, stream(1, "n"), chunk=2))
    assert [len(c) for c in chunked] == [3, 2, 4]
    first_two = drift.draw(labels[torch.cat(order[:2])], stream(1, "n"))
    torch.testing.assert_close(torch.cat(chunked[:2]), first_two)
    assert not torch.isclose(noisy, trajectory.features_grid[0]).all(-1).any()
    assert not torch.isclose(noisy, trajectory.features_grid[1]).all(-1).any()


def test_the_shifted_arm_reads_the_frozen_lower_part_of_shifted_images():
    images, labels = data(30)
    trajectory = synthetic_trajectory(torch.zeros(2, 30, 16))
    index = torch.arange(5, 15)
    moved = shifted(images[index], SETTINGS.shift, -0.4, stream(0, "shifted"))
    torch.testing.assert_close(
        arm_draws("shifted", trajectory, images, labels, index), trajectory.lower(moved)
    )


def test_permuted_drift_comes_from_another_image_of_the_same_class():
    labels = torch.tensor([0, 1, 0, 1, 0, 2, 2])
    index = torch.arange(7)
    partners = same_class_partners(labels, index, stream(0, "p"))
    assert (labels[partners] == labels).all() and (partners != index).all()


def test_shifts_move_each_image_whole_within_the_range_and_fill_the_border():
    image = torch.zeros(1, 1, 8, 8)
    image[0, 0, 3:5, 3:5] = 1.0
    moved = shifted(image.expand(50, -1, -1, -1), 2, background=-0.5, generator=stream(0, "s"))
    assert (moved.max(dim=-1).values.max(dim=-1).values == 1.0).all()
    assert torch.isclose((moved == 1.0).sum((1, 2, 3)), torch.tensor(4)).all()  # kept whole
    rows = (moved[:, 0] == 1.0).any(-1).float().argmax(-1)
    assert set(rows.tolist()) == {1, 2, 3, 4, 5}  # offsets -2..2, each drawn
    assert ((moved == -0.5) | (moved == 0.0) | (moved == 1.0)).all()


def test_arms_share_everything_but_their_features():
    """With no drift, drift replay sees static's features, so it must end where static does: the
    same head and momentum at t0, the same batches, the same evaluation."""
    images, labels = data()
    split = Split(**draw_split(images, labels, 30, 15, seed=0))
    trajectory = normal(model(), split.train, SETTINGS, seed=0)
    still = Trajectory(
        trajectory.lower,
        trajectory.head,
        trajectory.head_momentum,
        trajectory.features_t0,
        trajectory.features_t0.expand(2, -1, -1),
        trajectory.grid_steps,
    )
    order = batches(30, 8, SETTINGS.head_steps, stream(0, "head"))
    static, _ = train_arm("static", still, split, SETTINGS, order, 0, -0.4)
    for arm in ("drift", "rescaled", "permuted", "noise"):
        other, _ = train_arm(arm, still, split, SETTINGS, order, 0, -0.4)
        pd.testing.assert_frame_equal(
            static.drop(columns="arm"), other.drop(columns="arm"), check_exact=False, rtol=1e-5
        )
    assert static["step"].unique().tolist() == [0, 5, 10, 12]
    assert set(static["split"]) == {"train", "validation", "held_out"}
    moving, _ = train_arm("drift", trajectory, split, SETTINGS, order, 0, -0.4)
    assert not static["cross_entropy"].equals(moving["cross_entropy"])


def test_the_split_is_drawn_per_seed_and_leaves_no_image_in_two_parts():
    images, labels = data()
    split = Split(**draw_split(images, labels, 30, 10, seed=3))
    assert [len(part[1]) for part in (split.train, split.validation, split.held_out)] == [
        30,
        10,
        20,
    ]
    rows = torch.cat([part[0] for part in (split.train, split.validation, split.held_out)])
    assert len(torch.unique(rows, dim=0)) == 60
    assert not torch.equal(
        Split(**draw_split(images, labels, 30, 10, seed=4)).train[0], split.train[0]
    )
    assert isinstance(split, Split)


def test_the_fitted_temperature_undoes_a_known_one():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4000, 10, generator=generator) * 2
    labels = torch.multinomial(F.softmax(logits, 1), 1, generator=generator).flatten()
    assert fit_temperature(logits * 3.0, labels) == pytest.approx(3.0, rel=0.1)


def test_a_static_step_from_t0_is_the_normal_trainings_next_step_for_the_head():
    """The head starts from t0's weights *and momentum*: one static step on normal training's
    batch t0 + 1 (whose forward read the lower part at t0) gives its head at t0 + 1."""
    images, labels = data()
    split = Split(**draw_split(images, labels, 30, 15, seed=0))
    trajectory = normal(model(), split.train, SETTINGS, seed=0)
    one_more = AugmentationSettings(**{**vars(SETTINGS), "t0": 7, "windows": ()})
    next_step = normal(model(), split.train, one_more, seed=0)
    # the train rule's data order: the loader's shuffles, epoch after epoch
    loader = DataLoader(
        torch.arange(30), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    batch = [[index for _ in range(2) for index in loader][6]]
    settings = AugmentationSettings(**{**vars(SETTINGS), "head_steps": 1, "eval_every": 1})
    _, head = train_arm("static", trajectory, split, settings, batch, 0, -0.4)
    for a, b in zip(head.parameters(), next_step.head.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_drift_and_rescaled_drift_replay_the_same_steps():
    """C and C' share the replay draws: where every grid feature already has its t0 feature's
    norm, rescaling changes nothing, so the two arms must train exactly alike."""
    images, labels = data()
    split = Split(**draw_split(images, labels, 30, 15, seed=0))
    trajectory = normal(model(), split.train, SETTINGS, seed=0)
    base = trajectory.features_t0
    signs = torch.where(torch.arange(base.shape[1]) % 2 == 0, 1.0, -1.0)
    grid = torch.stack([base * signs, base.flip(1).abs() * base.sign()])  # other features
    grid[1] *= (base.norm(dim=1) / grid[1].norm(dim=1).clamp_min(1e-12))[:, None]
    same_norms = Trajectory(
        trajectory.lower,
        trajectory.head,
        trajectory.head_momentum,
        base,
        grid,
        trajectory.grid_steps,
    )
    order = batches(30, 8, SETTINGS.head_steps, stream(0, "head"))
    drift, _ = train_arm("drift", same_norms, split, SETTINGS, order, 0, -0.4)
    rescaled, _ = train_arm("rescaled", same_norms, split, SETTINGS, order, 0, -0.4)
    pd.testing.assert_frame_equal(
        drift.drop(columns="arm"), rescaled.drop(columns="arm"), check_exact=False, rtol=1e-5
    )


def test_each_arms_temperature_is_fitted_on_the_validation_split_alone():
    images, labels = data()
    split = Split(**draw_split(images, labels, 30, 15, seed=0))
    trajectory = normal(model(), split.train, SETTINGS, seed=0)
    order = batches(30, 8, SETTINGS.head_steps, stream(0, "head"))
    frame, head = train_arm("static", trajectory, split, SETTINGS, order, 0, -0.4)
    with torch.no_grad():
        head.eval()
        logits = head(trajectory.lower(split.validation[0]))
    last = frame[frame["step"] == frame["step"].max()]
    fitted = fit_temperature(logits, split.validation[1])
    assert last["temperature"].to_numpy() == pytest.approx([fitted] * len(last))
