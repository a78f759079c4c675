"""docs/extending.md's four code examples, run: each example's code is loaded as a module,
registered the way the guide says, and used (a plan built, a dataset read, a figure drawn, a
claim judged), so that the guide cannot go stale."""

import copy
import re
import types

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ROOT
from test_claims import side, synthetic_table

from invertibility.core.errors import ConfigError

EXAMPLE = re.compile(r"<!-- example: ([a-z ]+) -->\n```python\n(.*?)```", re.S)


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall((ROOT / "docs" / "extending.md").read_text()))


def load(name: str) -> types.ModuleType:
    module = types.ModuleType(name.replace(" ", "_"))
    exec(compile(examples()[name], f"docs/extending.md ({name})", "exec"), module.__dict__)
    return module


def test_the_guide_has_its_five_examples():
    assert set(examples()) == {
        "architecture",
        "dataset source",
        "figure kind",
        "measure",
        "claim kind",
    }


def test_an_added_measure_is_a_column_blanked_where_an_inversion_diverged_and_judged(
    monkeypatch,
):
    from invertibility.analysis import claims, measures, tables

    measure = load("measure").MEASURE
    monkeypatch.setitem(measures.MEASURES, measure.name, measure)
    assert tables.table_columns()[measure.name] == "boolean"
    rows = synthetic_table({"l1": 0.9, "l2": 0.3}, seeds=(0, 1, 2, 3))
    late = rows["tp"] == "0_5"
    # l1's images keep a good rank after 4 steps, l2's lose it; image i3 diverged at 0_5
    rows["rank"] = np.where(late & (rows["layer"] == "l2"), 7.0, 1.0)
    rows["n_candidates"] = 10
    rows = rows.assign(rank_all=0.0, rank_class=0.0, ssim=0.5, label_final=rows["label"])
    rows = rows.assign(label_judge=pd.NA, diverged=late & (rows["image_id"] == "i3"), final_lr=5.0)
    derived = tables.derive_measures(rows.copy())
    # blanked where the image is not measured: i3 diverged at 0_5, so at every tp of its unit
    assert derived["excluded"].equals(rows["image_id"].eq("i3").rename("excluded"))
    assert derived.loc[derived["excluded"], measure.name].isna().all()
    assert derived.loc[~derived["excluded"], measure.name].notna().all()
    claim = {
        "claim": "l1 keeps its rank longer",
        "kind": "compare",
        "measure": measure.name,
        "greater": side("l1"),
        "lesser": side("l2"),
    }
    result = claims.evaluate_claims([claim], derived, pd.DataFrame())[0].iloc[0]
    assert result["verdict"] == "supported" and result["value"] == pytest.approx(1.0)


def test_an_added_architecture_is_planned_and_inverted(monkeypatch, test_config):
    from invertibility.nets import models
    from invertibility.planning.plan import Plan

    (architecture,) = load("architecture").ARCHITECTURES
    monkeypatch.setitem(models.ARCHITECTURES, architecture.name, architecture)
    monkeypatch.setitem(models.OPTIONS, architecture.name, architecture.options)
    config = copy.deepcopy(test_config)
    entry = config["models"]["mlp"]
    entry["architecture"] = "tiny_cnn"
    entry.pop("hidden")
    entry["layers"] = {"fc1": "conv1", "fc2": "conv2"}  # the names the figures and claims use
    plan = Plan(config)
    assert {job.layer for job in plan.inversions.all if job.model == "mlp"} == {"fc1", "fc2"}
    net = models.build_model(**plan.network_spec("mlp"))
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    # what its checkpoints hold at a step that is not whole: the declared layers' tensors
    from invertibility.nets.scope import tensors_for

    held = tensors_for(plan.network_spec("mlp"), list(entry["layers"].values()))
    assert held == {f"conv{i}.{kind}" for i in (1, 2) for kind in ("weight", "bias")}
    config["models"]["mlp"]["layers"] = {"fc1": "conv9"}
    with pytest.raises(ConfigError, match="unknown layer 'conv9' for architecture 'tiny_cnn'"):
        Plan(config)


def test_an_added_dataset_source_feeds_training_and_the_images_to_invert(monkeypatch, tmp_path):
    from invertibility.data import datasets, image_sets
    from invertibility.data.sources import SOURCES

    source = load("dataset source").SOURCE
    monkeypatch.setitem(SOURCES, source.name, source)
    rng = np.random.default_rng(0)
    path = tmp_path / "digits.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (60, 20, 20), dtype=np.uint8),
        y_train=np.arange(60) % 3,
        x_test=rng.integers(0, 256, (30, 20, 20), dtype=np.uint8),
        y_test=np.arange(30) % 3,
    )
    spec = {
        "source": "npz",
        "path": str(path),
        "num_classes": 3,
        "image_size": 28,
        "channels": 1,
        "mean": [0.5],
        "std": [0.25],
    }
    assert datasets.train_size(spec) == 60 and datasets.num_classes(spec) == 3
    image, label = datasets.training_set(spec)[0]
    assert image.shape == (1, 28, 28) and int(label) == 0
    assert datasets.holdout_counts(spec) == {0: 10, 1: 10, 2: 10}
    chosen = image_sets.inversion_images(spec, {"per_class": 2, "photos": ["camera"]})
    assert chosen.images.shape == (7, 1, 28, 28)
    assert chosen.labels.tolist() == [0, 0, 1, 1, 2, 2, -1]


def test_an_added_figure_kind_draws_from_its_inputs(monkeypatch, tmp_path):
    from invertibility import figures

    kind = load("figure kind").KIND
    monkeypatch.setitem(figures.KINDS, kind.name, kind)
    horizons = pd.DataFrame(
        {"model": ["mlp", "mlp"], "layer": ["fc1", "fc2"], "t": ["0_10"] * 2, "horizon_p": [90, 10]}
    )
    horizons.to_parquet(tmp_path / "horizons.parquet")
    assert kind.inputs(None, "fig16") == {
        "horizons": "results/tables/invertibility_horizons.parquet"
    }
    png = tmp_path / "fig16.png"
    figures.KINDS["horizon_bars"].draw(
        {"horizons": str(tmp_path / "horizons.parquet")}, {}, str(tmp_path / "fig16.pdf"), str(png)
    )
    assert png.stat().st_size > 0 and "fig16" in kind.caption_of("fig16")


@pytest.mark.parametrize(
    ("kept", "level", "verdict"), [(0.9, 0.5, "supported"), (0.1, 0.5, "contradicted")]
)
def test_an_added_claim_kind_is_judged_with_the_others(monkeypatch, kept, level, verdict):
    from invertibility.analysis import claims

    kind = load("claim kind").KIND
    monkeypatch.setitem(claims.KINDS, kind.name, kind)
    claim = {"claim": "l1 kept", "kind": "above_level", "side": side("l1"), "level": level}
    table = synthetic_table({"l1": kept}, seeds=(0, 1, 2, 3, 4))
    result = claims.evaluate_claims([claim], table, pd.DataFrame())[0].iloc[0]
    assert result["verdict"] == verdict, result["reason"]


def test_an_added_claim_kinds_sides_are_checked_like_any_claims(monkeypatch, test_config):
    """The roles a new kind names are sides: resolved (their seeds) and checked (their model)."""
    from invertibility.analysis import claims
    from invertibility.planning.plan import Plan

    kind = load("claim kind").KIND
    monkeypatch.setitem(claims.KINDS, kind.name, kind)
    config = copy.deepcopy(test_config)
    fine = {"model": "mlp", "layers": ["fc1"], "t": "0_5"}
    config["analyses"]["claims"] = [
        {"claim": "fc1 kept", "kind": "above_level", "side": fine, "level": 0.5}
    ]
    claim = Plan(config).claims()[0]  # the experiment family's come after the paper's
    assert claim["side"]["seeds"] == config["models"]["mlp"]["seeds"]
    config["analyses"]["claims"][0]["side"] = {**fine, "model": "nope"}
    with pytest.raises(ConfigError, match=r"analyses.claims\[0\].side.model: unknown model 'nope'"):
        Plan(config)
