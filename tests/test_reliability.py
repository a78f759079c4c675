"""Faults and bad inputs: what the user sees, and that finished work is never lost."""

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import ROOT, load_config, run_snakemake, snakemake_command

from invertibility.core.atomic import atomic_path, save_npz
from invertibility.core.errors import CheckpointError
from invertibility.core.provenance import code_version, module_closure
from invertibility.jobs.train_job import run_training
from invertibility.nets.checkpoints import load_checkpoint, save_checkpoint
from invertibility.nets.mlp import MLP
from invertibility.planning.plan import Plan


def test_truncated_checkpoint_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "mlp" / "0_10.safetensors"
    save_checkpoint(MLP(16, [8], 3), path, {"step": "0_10"})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CheckpointError,
        match=r"0_10.safetensors' is corrupt or truncated.*"
        r"delete its folder '.*mlp' and rerun",
    ):
        load_checkpoint(MLP(16, [8], 3), path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(MLP(16, [8], 3), path)


def test_checkpoint_of_another_architecture_is_reported(tmp_path):
    path = tmp_path / "m" / "0_1.safetensors"
    save_checkpoint(MLP(16, [8], 3), path, {})
    with pytest.raises(CheckpointError, match="does not fit the model in the config"):
        load_checkpoint(MLP(16, [9], 3), path)


def test_atomic_write_leaves_no_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_gives_the_usual_file_mode(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "table.parquet") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "table.parquet").stat().st_mode & 0o777 == 0o644


def test_npz_bytes_are_reproducible(tmp_path):
    arrays = {"a": np.arange(10.0), "ids": np.array(["x", "y"])}
    save_npz(tmp_path / "1.npz", **arrays)
    time.sleep(2.1)  # zip timestamps have two-second resolution
    save_npz(tmp_path / "2.npz", **arrays)
    assert (tmp_path / "1.npz").read_bytes() == (tmp_path / "2.npz").read_bytes()
    with np.load(tmp_path / "1.npz") as loaded:
        assert loaded["ids"].tolist() == ["x", "y"]


def train_mlp(tmp_path, name, seed):
    config = load_config(ROOT / "config" / "test.yaml")
    spec = Plan(config).training.spec("mlp", seed)
    spec["schedule"] = [
        (step, index, str(tmp_path / name / f"{step}.safetensors"))
        for step, index, _ in spec["schedule"]
    ]
    accuracy = tmp_path / f"{name}_checkpoints.parquet"
    blocks = tmp_path / f"{name}_blocks.parquet"
    gradients = str(tmp_path / f"{name}_gradients.parquet")
    run_training(
        spec,
        str(tmp_path / f"{name}.parquet"),
        str(accuracy),
        str(blocks),
        gradients,
        progress=False,
    )
    first = Path(spec["schedule"][0][2])
    table = pd.read_parquet(tmp_path / f"{name}.parquet")
    return first.read_bytes(), table, pd.read_parquet(accuracy), pd.read_parquet(blocks)


def test_training_is_deterministic_on_cpu_and_the_seed_matters(tmp_path):
    first, table1, accuracy1, blocks1 = train_mlp(tmp_path, "a", seed=0)
    second, table2, accuracy2, blocks2 = train_mlp(tmp_path, "b", seed=0)
    other, _, _, _ = train_mlp(tmp_path, "c", seed=1)
    assert first == second
    pd.testing.assert_frame_equal(table1, table2)
    pd.testing.assert_frame_equal(accuracy1, accuracy2)
    pd.testing.assert_frame_equal(blocks1, blocks2)
    assert first != other
    # held-out accuracy of every scheduled checkpoint, rising with training
    assert accuracy1["step"].tolist() == ["0_5", "1_0", "1_5"]
    assert accuracy1["holdout_accuracy"].iloc[-1] > accuracy1["holdout_accuracy"].iloc[0]


def training_arguments(tmp_path, name, state=None):
    """The test config's MLP, seed 0, trained to step 200 (10 epochs) with its state written
    after every step, its outputs under ``tmp_path / name``."""
    spec = Plan(load_config(ROOT / "config" / "test.yaml")).training.spec("mlp", 0)
    folder = tmp_path / name
    spec["schedule"] = [
        (step, index, str(folder / "checkpoints" / f"{step}.safetensors"))
        for step, index in [(step, index) for step, index, _ in spec["schedule"]] + [("10_0", 200)]
    ]
    spec["last_step"] = 200
    return {
        "spec": spec,
        "table": str(folder / "training.parquet"),
        "accuracy_table": str(folder / "accuracy.parquet"),
        "blocks_table": str(folder / "blocks.parquet"),
        "gradients_table": str(folder / "gradients.parquet"),
        "state": state and str(folder / state),
        "code": "code v1",
        "state_every_s": 0,
        "progress": False,
    }


def test_a_killed_training_resumes_to_the_same_outputs(tmp_path, caplog):
    """SIGKILL a training job mid-run (its process gone, no cleanup), run it again: it goes on
    from its last state and its checkpoints and tables equal an uninterrupted training's, by
    content; the checkpoints appear only when the training is done."""
    from safetensors.torch import load_file

    reference = training_arguments(tmp_path, "uninterrupted")
    run_training(**reference)
    arguments = training_arguments(tmp_path, "killed", state="resume")
    call = tmp_path / "train.call.json"
    call.write_text(json.dumps({"job": "train", "arguments": arguments}))
    process = subprocess.Popen([sys.executable, "-m", "invertibility.jobs", str(call)])
    state = Path(arguments["state"]) / "state.pt"
    deadline = time.time() + 300
    step = 0
    while time.time() < deadline and step < 40 and process.poll() is None:
        time.sleep(0.05)
        if state.exists():
            with contextlib.suppress(Exception):  # replaced while being read
                step = torch.load(state, weights_only=True)["step"]
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 40 <= step < 200, "the training was not killed mid-run"
    assert not Path(arguments["table"]).exists()
    assert not (tmp_path / "killed" / "checkpoints").exists()  # staged beside the job

    with caplog.at_level(logging.INFO):
        run_training(**arguments)
    resumed_at = int(re.search(r"resumed at step (\d+)", caplog.text).group(1))
    assert resumed_at >= step
    assert not Path(arguments["state"]).exists()  # moved into place, then removed
    for (_, _, ours), (_, _, theirs) in zip(
        arguments["spec"]["schedule"], reference["spec"]["schedule"], strict=True
    ):
        ours, theirs = load_file(ours), load_file(theirs)
        assert ours.keys() == theirs.keys()
        for name in ours:
            assert torch.equal(ours[name], theirs[name]), name
    for table in ("table", "accuracy_table", "blocks_table", "gradients_table"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(arguments[table]), pd.read_parquet(reference[table])
        )


SCRIPTS = ROOT / "workflow" / "scripts"


def test_code_version_follows_the_code_each_rule_runs(tmp_path):
    package = tmp_path / "invertibility"
    shutil.copytree(Path(__import__("invertibility").__file__).parent, package)
    scripts = ("train.py", "invert.py", "figure.py", "claims.py")
    before = {name: code_version(SCRIPTS / name, package) for name in scripts}
    edited = package / "methods" / "objectives.py"
    edited.write_text(edited.read_text() + "\n# edit\n")
    after = {name: code_version(SCRIPTS / name, package) for name in scripts}
    assert after["invert.py"] != before["invert.py"]
    assert all(after[name] == before[name] for name in scripts if name != "invert.py")
    stats = package / "analysis" / "stats.py"
    stats.write_text(stats.read_text() + "\n# edit\n")
    assert code_version(SCRIPTS / "claims.py", package) != before["claims.py"]
    assert code_version(SCRIPTS / "train.py", package) == before["train.py"]


def test_code_version_follows_sub_packages_and_relative_imports(tmp_path):
    """An edit to a module of a sub-package (analysis/claims/compare.py, reached through
    claims' __init__ and a relative import) reruns exactly the rules that run it."""
    package = tmp_path / "invertibility"
    shutil.copytree(Path(__import__("invertibility").__file__).parent, package)
    closure = module_closure(SCRIPTS / "claims.py", package)
    claims = {"analysis.claims", "analysis.claims.compare", "analysis.claims.evidence"}
    assert claims | {"analysis", "analysis.retention", "analysis.stats"} <= set(closure)
    before = {name: code_version(SCRIPTS / name, package) for name in ("claims.py", "train.py")}
    edited = package / "analysis" / "claims" / "compare.py"
    edited.write_text(edited.read_text() + "\n# edit\n")
    assert code_version(SCRIPTS / "claims.py", package) != before["claims.py"]
    assert code_version(SCRIPTS / "train.py", package) == before["train.py"]
    # two levels up: ``from ..stats import`` inside analysis/claims/ is analysis' stats, and
    # three levels up the top of the package
    from invertibility.core.provenance import imported_modules

    here = "analysis.claims"
    assert "analysis.stats" in imported_modules("from ..stats import t_interval", here=here)
    assert "core.atomic" in imported_modules("from ...core.atomic import atomic_path", here=here)
    assert "analysis.claims.kind" in imported_modules("from .kind import Kind", here=here)


def test_module_sets_are_the_import_graph():
    invert = module_closure(SCRIPTS / "invert.py")
    runs = {"jobs.invert_job", "methods.inversion", "methods.objectives", "nets.taps"}
    assert runs | {"data.image_sets", "core.inversion_io"} <= set(invert)
    # image_sets' writer reads the dataset (data.datasets) in a function: counted, conservatively
    assert not {"planning", "methods.training", "analysis"} & set(invert)
    # the one figure script runs every kind of the registry, and nothing but core besides, and
    # the statistics a figure summarizes seeds with
    figure = set(module_closure(SCRIPTS / "figure.py"))
    kinds = {f"figures.{kind}" for kind in ("image_grid", "claims_forest", "augmentation")}
    assert kinds | {"figures", "figures.kind", "figures.style", "core.inversion_io"} <= figure
    assert {name.split(".")[0] for name in figure} == {"core", "figures", "analysis"}
    assert {name for name in figure if name.startswith("analysis")} == {
        "analysis",
        "analysis.stats",
    }


def test_changing_a_training_setting_reruns_everything_downstream(finished_run, tmp_path):
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    config["models"]["mlp"]["train"]["lr"] = 0.02
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    out = run_snakemake(finished_run, "-n", "--quiet", "rules", config=changed).stdout
    for rule in ("train", "invert", "figure", "invertibility_tables", "claims"):
        assert rule in out, out


def outputs(workdir):
    return sorted(
        p.relative_to(workdir)
        for p in (workdir / "results").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )


def job_of(path: Path) -> Path:
    """The job that wrote an output: a diagnostics job writes its run's two tables
    (``seed1_similarity``, ``seed1_weights``), an augmentation job its seed's folder of three,
    every other job one file."""
    if "diagnostics" in path.parts:
        return path.parent / path.stem.rpartition("_")[0]
    if "augmentation" in path.parts and path.parent.name.startswith("seed"):
        return path.parent
    return path


@pytest.mark.slow
def test_kill_during_inversions_then_resume_gives_identical_results(finished_run, tmp_path):
    workdir = tmp_path / "killed"
    workdir.mkdir()
    command = snakemake_command(workdir)
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    inversions = workdir / "results" / "inversions"
    deadline = time.time() + 600

    def finished():  # an atomic write's temporary file (".name.xyz.npz") is not a finished one
        return [p for p in inversions.rglob("*.npz") if not p.name.startswith(".")]

    while time.time() < deadline and len(finished()) < 4:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # Snakemake and every job it started
    process.wait()
    done_before = {p: (workdir / p).stat().st_mtime_ns for p in outputs(workdir)}
    assert 4 <= sum(str(p).endswith(".npz") for p in done_before) < 32, "not killed mid-run"

    run_snakemake(workdir, "--unlock")
    run_snakemake(workdir, "--rerun-incomplete")

    assert outputs(workdir) == outputs(finished_run)
    # Finished jobs are kept. Only jobs in flight at the kill (at most one per core) may be
    # redone: their file may be complete, but Snakemake never recorded them as finished.
    redone = [p for p in done_before if (workdir / p).stat().st_mtime_ns != done_before[p]]
    assert len({job_of(p) for p in redone}) <= 2, redone
    assert len(done_before) - len(redone) >= 2
    for rel in outputs(workdir):
        if rel.suffix in (".parquet",):
            pd.testing.assert_frame_equal(
                pd.read_parquet(workdir / rel), pd.read_parquet(finished_run / rel)
            )
        elif rel.suffix == ".csv":
            pd.testing.assert_frame_equal(
                pd.read_csv(workdir / rel), pd.read_csv(finished_run / rel)
            )
        elif rel.suffix == ".npz":  # every array equal; loop_seconds is a wall time
            with np.load(workdir / rel) as ours, np.load(finished_run / rel) as theirs:
                assert set(ours.files) == set(theirs.files), rel
                for key in set(ours.files) - {"loop_seconds"}:
                    np.testing.assert_array_equal(ours[key], theirs[key], err_msg=f"{rel} {key}")
        else:
            assert (workdir / rel).read_bytes() == (finished_run / rel).read_bytes(), rel
