"""config/rehearsal.yaml: config/paper.yaml's path with every number cut, on a generated 224-px
image folder; it mirrors the paper's config (the same models, layers, figures and claims), plans
on the folder tools/rehearsal_images.py writes, and runs to every figure through the one-node
SLURM with the profile's own retries, a training stopped by its time limit and resumed."""

import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, merge_configs, run_snakemake
from safetensors import safe_open
from test_slurm import PROFILES, slurm

from invertibility.core import paths

CONFIGS = [ROOT / "config" / "paper.yaml", ROOT / "config" / "rehearsal.yaml"]
# what a rehearsal may cut in a model entry; everything else must be the paper's
MODEL_CUTS = {"seeds", "train", "checkpoints", "classifier_step", "whole", "hidden"}
TRAIN_CUTS = {"batch_size", "workers"}  # of a model's train entry: the rest is the paper's
NOT_CUTS = {"resnet18_nobn": {"lr"}}  # the paper's overflows there (config/rehearsal.yaml)


def merged() -> tuple[dict, dict]:
    """(paper.yaml, the two merged), each as Snakemake reads it: validated, defaults filled in
    (the merge copies paper.yaml's YAML aliases, whose models' train entries are one dict
    until then)."""
    return merge_configs(CONFIGS[0]), merge_configs(*CONFIGS)


def test_the_rehearsal_mirrors_the_paper_config():
    """Only numbers are cut: a model, a model's layers or training settings, a figure, a
    panel's layers or a claim changed in the paper's config and not in the rehearsal's fails
    here (the grids' models and the distances are checked as subsets)."""
    paper, rehearsal = merged()
    assert rehearsal["models"].keys() == paper["models"].keys()
    for name, model in paper["models"].items():
        kept = {k: v for k, v in model.items() if k not in MODEL_CUTS}
        assert {k: rehearsal["models"][name].get(k) for k in kept} == kept, name
        train = dict(rehearsal["models"][name]["train"])
        for key in TRAIN_CUTS | NOT_CUTS.get(name, set()):
            train.pop(key, None)
        assert train == {k: v for k, v in model["train"].items() if k in train}, name
        assert train.keys() == model["train"].keys() - TRAIN_CUTS - NOT_CUTS.get(name, set())
    assert rehearsal["datasets"].keys() == paper["datasets"].keys()
    for key in ("source", "image_size", "channels", "mean", "std", "augment"):
        assert rehearsal["datasets"]["imagenet"][key] == paper["datasets"]["imagenet"][key], key
    assert rehearsal["figures"].keys() == paper["figures"].keys()
    for name, figure in paper["figures"].items():
        ours = rehearsal["figures"][name]
        assert ours.get("kind") == figure.get("kind"), name
        assert [(p["model"], p["layers"], p.get("contrast")) for p in ours.get("panels", [])] == [
            (p["model"], p["layers"], p.get("contrast")) for p in figure.get("panels", [])
        ], name
    mine, theirs = rehearsal["analyses"], paper["analyses"]
    assert [(c["claim"], c["kind"], c.get("measure")) for c in mine["claims"]] == [
        (c["claim"], c["kind"], c.get("measure")) for c in theirs["claims"]
    ]
    assert {g["model"] for g in mine["grids"]} == {g["model"] for g in theirs["grids"]}
    for grid in mine["grids"]:  # every layer inverted is one the paper's grid inverts
        assert any(
            g["model"] == grid["model"] and set(grid["layers"]) <= set(g["layers"])
            for g in theirs["grids"]
        ), grid
    assert all(entry in theirs["distances"] for entry in mine["distances"])
    for key in ("controls", "cross_seed", "partners"):
        assert mine[key] == theirs[key], key
    assert {d: j["model"] for d, j in mine["label_judges"].items()} == {
        d: j["model"] for d, j in theirs["label_judges"].items()
    }


def rehearsal_folder(workdir) -> None:
    """The generated image folder, written by the tool the rehearsal's comments name."""
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "rehearsal_images.py")],
        cwd=workdir,
        check=True,
        capture_output=True,
    )


def test_the_rehearsal_plans_on_the_generated_folder(tmp_path):
    """The tool writes as many images as the rehearsal's dataset entry says (its check at
    training would fail otherwise), and the paper's path plans on them with every model."""
    rehearsal_folder(tmp_path)
    images = yaml.safe_load(CONFIGS[1].read_text())["datasets"]["imagenet"]
    train = [p for p in (tmp_path / "rehearsal" / "train").rglob("*.png")]
    assert len(train) == images["train_size"]
    assert len(list((tmp_path / "rehearsal" / "train").iterdir())) == images["num_classes"]
    run = run_snakemake(tmp_path, "-n", config=CONFIGS, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for model in merged()[1]["models"]:
        assert f"results/checkpoints/{model}" in run.stdout, model
    assert "rule invert_chunk:" in run.stdout


@pytest.mark.slurm
@slurm
def test_the_paper_path_rehearses_to_every_figure_through_slurm(tmp_path):
    """The whole rehearsal under the SLURM profile, with the retries profiles/slurm gives: the
    ResNet-18 trainings (about 90 s on one core of a 2-core Xeon) outlast the rehearsal's
    2-minute limit less its 60 s margin, stop themselves, are resubmitted and resume; every
    figure and claim of the config is written, and a checkpoint between whole steps holds
    only the tensors its layers read."""
    retries = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())["retries"]
    rehearsal_folder(tmp_path)
    run = run_snakemake(
        tmp_path, *PROFILES, "--retries", str(retries), config=CONFIGS, check=False, timeout=1800
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    config = merged()[1]
    for name in config["figures"]:
        assert (tmp_path / paths.figure(name, "png")).stat().st_size > 10_000, name
    claims = (tmp_path / paths.claims()).read_text()
    assert all(claim["claim"] in claims for claim in config["analyses"]["claims"])

    logs = list((tmp_path / ".snakemake" / "slurm_logs" / "rule_train").rglob("*.log"))
    stopped = {p.parent.name for p in logs if "TrainingStopped: stopped at step" in p.read_text()}
    assert stopped, output[-3000:]
    for job in stopped:  # e.g. resnet18_nobn_0
        model, seed = job.rsplit("_", 1)
        log = (tmp_path / paths.log("train", model=model, seed=f"seed{seed}")).read_text()
        assert re.search(r"resumed at step \d+", log), log[-2000:]
        assert not (tmp_path / paths.training_state(model, seed)).exists()

    # AlexNet's declared layers end at conv5: its classifier is saved at whole steps alone
    with safe_open(tmp_path / paths.checkpoint("alexnet", 0, "0_2"), "pt") as checkpoint:
        assert not any(key.startswith("classifier.") for key in checkpoint.keys())
        assert "features.10.weight" in checkpoint.keys()
