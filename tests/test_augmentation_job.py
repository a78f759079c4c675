"""The augmentation experiment's job, end to end on the test config's tiny MLP and real digits:
its state at t0 is the train rule's checkpoint bit for bit, every arm of every run is trained
once on the same steps, and its windows are measured; and the tables built from its files."""

import logging

import pandas as pd
import pytest
import torch

from invertibility.analysis.augmentation_tables import windows_table
from invertibility.core.augmentation_settings import WINDOW_FREE
from invertibility.data import datasets
from invertibility.jobs.augmentation_job import run_augmentation, settings_for
from invertibility.jobs.train_job import run_training
from invertibility.methods.augmentation import normal_training
from invertibility.methods.training import settings_of
from invertibility.nets.checkpoints import load_state
from invertibility.nets.models import build_model
from invertibility.planning.augmentation import trained_arms
from invertibility.planning.plan import Plan

SEED = 1


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """One seed of the test config's experiment: its training (the train rule's job) and its
    augmentation job, run in a folder of their own."""
    from conftest import ROOT, load_config

    folder = tmp_path_factory.mktemp("augmentation")
    plan = Plan(load_config(ROOT / "config" / "test.yaml"))
    model = plan.experiments["augmentation"].entry["model"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        run_training(
            plan.training.spec(model, SEED),
            "train.parquet",
            "accuracy.parquet",
            "blocks.parquet",
            "gradients.parquet",
            progress=False,
        )
        spec = plan.experiments["augmentation"].spec(SEED)
        files = {
            part: str(folder / f"{part}.parquet") for part in ("outcome", "drift", "similarity")
        }
        handler, logger = Capture(), logging.getLogger("invertibility")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            run_augmentation(spec, **files, progress=False)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        checkpoint = load_state(folder / spec["checkpoint_t0"])
    tables = {part: pd.read_parquet(path) for part, path in files.items()}
    return plan, spec, tables, handler.messages, checkpoint


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_the_state_at_t0_is_the_train_rules_checkpoint_bit_for_bit(seed_run):
    plan, spec, _, messages, checkpoint = seed_run
    torch.manual_seed(SEED)
    net = build_model(**spec["network"])
    parts = datasets.split_parts(spec["dataset"])
    trajectories = normal_training(
        net,
        parts["train"],
        settings_for(spec, "fc1"),
        SEED,
        splits=["fc1", "fc2"],
        train_settings=settings_of(spec["train"]),
    )
    for trajectory in trajectories.values():
        for part in (trajectory.lower, trajectory.head):
            for name, tensor in part.state_dict().items():
                assert torch.equal(tensor, checkpoint[name]), name
    assert any("equals the train rule's checkpoint" in m for m in messages), messages


def test_every_arm_of_every_run_trains_once_on_the_same_steps(seed_run):
    plan, spec, tables, _, _ = seed_run
    outcome = tables["outcome"]
    normal = outcome[outcome["arm"] == "normal"]  # arm A, the whole network, reported only
    assert set(normal["split"]) == {"train", "validation", "held_out"}
    assert (normal["step"] == 20).all() and (normal[["layer", "window"]] == "").all().all()
    outcome = outcome[outcome["arm"] != "normal"]
    trained = set(outcome[["layer", "window", "arm"]].itertuples(index=False, name=None))
    assert trained == trained_arms(plan.experiments["augmentation"].entry)
    assert set(outcome.loc[outcome["arm"].isin(WINDOW_FREE), "window"]) == {""}
    steps = outcome.groupby(["layer", "window", "arm", "split"])["step"].apply(tuple)
    assert set(steps) == {(0, 30, 60)}
    assert set(outcome["split"]) == {"train", "validation", "held_out"}
    assert (outcome["seed"] == SEED).all() and (outcome["model"] == spec["model"]).all()
    # every arm starts from the same head at t0: the same outcome before its first step
    start = outcome[(outcome["step"] == 0) & (outcome["layer"] == "fc1")]
    assert start.groupby("split")["cross_entropy"].nunique().eq(1).all()
    assert outcome["cross_entropy_tempered"].notna().all()


def test_the_windows_drift_scale_and_retained_similarity(seed_run):
    plan, spec, tables, _, _ = seed_run
    drift = tables["drift"].set_index(["layer", "window"])
    assert drift.loc[("fc1", "early"), "scale"] == 1.0
    late = drift.loc[("fc1", "late")]
    assert late["scale"] == pytest.approx(
        drift.loc[("fc1", "early"), "rms_drift"] / late["rms_drift"]
    )
    similarity = tables["similarity"]
    assert set(similarity["layer"]) == {"fc1", "fc2"}
    assert similarity.groupby("layer")["image_id"].nunique().eq(10).all()  # one per class
    windows = windows_table(
        tables["drift"], similarity, plan.experiments["augmentation"].measured_at()
    )
    assert len(windows) == 4  # (fc1, fc2) x (early, late)
    assert windows["retained"].dropna().between(0, 1).all()
    assert windows["measurable"].any()
