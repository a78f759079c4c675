import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SCHEMA, planned_rules, run_snakemake
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from invertibility.core.errors import ConfigError
from invertibility.core.vocabulary import CONTROLS, CROSS_SEED, OTHER_IMAGE
from invertibility.planning.plan import InversionChunk, InversionJob, Plan
from invertibility.planning.schema_check import check_schema
from invertibility.planning.validation import check_step_labels_are_strings


def test_default_config_plans_every_figure_and_the_scheduled_checkpoints(default_config):
    plan = Plan(default_config)
    assert plan.per_epoch("mlp") == 71  # ceil(4500 / 64)
    schedule = plan.schedule("mlp")
    assert {"0_10", "0_50", "1_10"} <= set(schedule) and schedule[-1] == "2_0"  # classifier last
    indices = [plan.step_index("mlp", s) for s in schedule]
    assert indices == sorted(indices)
    jobs = set(plan.inversions.all)
    for seed in (0, 1, 2):  # every claim rests on three training seeds
        assert InversionJob("mlp", seed, "fc1", "0_10", "1_10") in jobs
        assert InversionJob("mlp", seed, "fc1", "0_10", OTHER_IMAGE) in jobs
        assert InversionJob("mlp", seed, "fc1", "0_10", CROSS_SEED) in jobs
    for claim in plan.claims():
        for role in ("greater", "lesser", "above", "below"):
            if role in claim:
                assert len(claim[role]["seeds"]) >= 3, claim["claim"]
    # figures invert seed 0 only; the grids every seed
    assert InversionJob("resnet18_nobn", 0, "conv5", "4_100", "4_280") in jobs
    assert InversionJob("resnet18_nobn", 1, "conv5", "4_100", "4_280") not in jobs
    assert set(plan.figures.names("image_grid")) >= {"fig1_mlp", "fig5_mlp_wide"}
    assert plan.figures.names("norm_distances") == ["fig6_norm_distances"]
    assert plan.figures.names("invertibility_curves") == ["fig7_invertibility_curves"]


def test_classifier_defaults_to_the_last_scheduled_step(test_config):
    plan = Plan(test_config)
    assert plan.classifier_step("mlp") == "1_5"
    assert plan.schedule("mlp") == ["0_5", "1_0", "1_5"]
    assert plan.schedule("resnet18_nobn") == ["0_2", "0_4"]  # a range: every 2 from 0_2


def test_schedule_ranges_expand_and_merge_with_labels(test_config):
    config = copy.deepcopy(test_config)
    config["models"]["mlp"]["checkpoints"] = [
        "0_3",
        {"every": 10, "until": "1_5"},
        {"every": 20, "from": "0_5", "until": "2_0"},
    ]
    plan = Plan(config)
    # 20 iterations per epoch: steps 0, 10, 20 from the first range; 5, 25 (45 > 2_0 = 40)
    assert plan.schedule("mlp") == ["0_0", "0_3", "0_5", "0_10", "1_0", "1_5"]


def test_training_spec_depends_on_the_model_entry_alone(test_config):
    before = Plan(test_config).training.spec("mlp", 0)
    assert before["train"]["seed"] == 0
    assert Plan(test_config).training.spec("mlp", 1)["train"]["seed"] == 1
    edited = copy.deepcopy(test_config)
    edited["figures"]["fig1_mlp"]["panels"][0]["activations"] = ["0_5"]
    edited["analyses"]["claims"] = edited["analyses"]["claims"][1:]
    edited["inversion"]["lambda_tv"] = 0.5
    assert Plan(edited).training.spec("mlp", 0) == before
    edited["models"]["mlp"]["checkpoints"].append("1_2")
    assert Plan(edited).training.spec("mlp", 0) != before


def test_inversion_spec_carries_p_and_the_resolved_settings(test_config):
    plan = Plan(test_config)
    spec = plan.inversions.spec(InversionChunk.alone(InversionJob("mlp", 1, "fc2", "0_5", "1_5")))
    (target,) = spec["targets"]
    assert target["p"] == 20 and spec["module"] == "fc2" and spec["settings"]["iterations"] == 40
    assert spec["seed"] == 1 and spec["settings"]["depth"] == 2
    # M&V: the TV weight grows by sqrt(10) per weighted layer from its depth-1 value
    assert spec["settings"]["lambda_tv"] == pytest.approx(0.001 * 10**0.5, rel=1e-3)
    assert target["checkpoints"]["target"] == "results/checkpoints/mlp/seed1/1_5.safetensors"
    assert spec["network"] == {
        "architecture": "mlp",
        "num_classes": 10,
        "input_shape": [1, 28, 28],
        "hidden": [128, 64, 32],
    }
    other = plan.inversions.spec(
        InversionChunk.alone(InversionJob("mlp", 0, "fc2", "0_5", OTHER_IMAGE))
    )
    assert other["targets"][0]["p"] is None
    files = plan.inversions.checkpoints(InversionJob("mlp", 0, "fc2", "0_5", OTHER_IMAGE))
    assert set(files) == {"t", "classifier"}
    # the cross-seed control: this seed's function, the next seed's activations at the same t;
    # the last seed wraps round to the first
    cross = InversionJob("mlp", 1, "fc2", "0_5", CROSS_SEED)
    files = plan.inversions.checkpoints(cross)
    assert files["t"] == "results/checkpoints/mlp/seed1/0_5.safetensors"
    assert files["target"] == "results/checkpoints/mlp/seed2/0_5.safetensors"
    assert plan.inversions.seeds_read(InversionChunk.alone(cross)) == [1, 2]
    last = InversionJob("mlp", 2, "fc2", "0_5", CROSS_SEED)
    assert (
        plan.inversions.checkpoints(last)["target"]
        == "results/checkpoints/mlp/seed0/0_5.safetensors"
    )
    assert plan.inversions.seeds_read(InversionChunk.alone(last)) == [2, 0]


def test_chunks_partition_the_inversions(test_config):
    config = copy.deepcopy(test_config)
    config["models"]["mlp"]["invert_chunk"] = 2
    # seed 0 inverts one more step than seed 1 (its figure panel): another chunk shape
    config["figures"]["fig1_mlp"]["panels"][0]["activations"] = ["0_5", "1_0", "1_5"]
    plan = Plan(config)
    mlp = {job for job in plan.inversions.all if job.model == "mlp"}
    chunks = plan.inversions.chunks
    chunked = [job for chunk in chunks for job in chunk.jobs]
    assert sorted(chunked) == sorted(mlp) and len(chunked) == len(set(chunked))
    # one chunk, and one folder, per (seed, layer, t)
    keys = {(job.seed, job.layer, job.t) for job in mlp}
    assert len(chunks) == len(keys) == len({chunk.folder for chunk in chunks})
    assert {len(chunk.tps) for chunk in chunks} == {4, 5}  # seed 0: one more step
    for chunk in chunks:  # step order, the controls last
        steps = [tp for tp in chunk.tps if tp not in CONTROLS]
        assert list(chunk.tps) == steps + [tp for tp in CONTROLS if tp in chunk.tps]
        assert steps == sorted(steps, key=lambda step: plan.step_index("mlp", step))
    assert plan.inversions.unchunked_models() == ["resnet18_nobn", "mlp_aug", "judge32"]
    assert plan.inversions.chunked_models() == ["mlp"]
    spec = plan.inversions.spec(chunks[0])
    assert spec["steps_per_batch"] == 2
    unchunked = next(j for j in plan.inversions.all if j.model != "mlp")
    assert "steps_per_batch" not in plan.inversions.spec(InversionChunk.alone(unchunked))
    assert [target["tp"] for target in spec["targets"]] == list(chunks[0].tps)
    first = chunks[0].jobs[0]
    assert plan.inversions.chunk(first.model, first.seed, first.layer, first.t) == chunks[0]
    # the DAG builds each chunked model's folder once, and every other model's files
    targets = plan.inversions.targets(plan.inversions.all)
    assert targets.count(chunks[0].folder) == 1
    assert all(Path(job.path).parent.as_posix() == chunks[0].folder for job in chunks[0].jobs)
    assert all(job.folder == chunks[0].folder for job in chunks[0].jobs)
    assert len(targets) == len(chunks) + len(plan.inversions.all) - len(mlp)


def mutate(config, path, value):
    config = copy.deepcopy(config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


PANEL = ["figures", "fig1_mlp", "panels", 0]


@pytest.mark.parametrize(
    "path, value, message",
    [
        (
            ["models", "mlp", "layers", "fc1"],
            "fc7",
            r"models.mlp.layers.fc1: unknown layer 'fc7'.*valid layers are: flatten, fc1, relu1",
        ),
        ([*PANEL, "layers"], ["fc1", "fc9"], r"model 'mlp' has no layer named 'fc9'"),
        (
            [*PANEL, "activations"],
            ["0_5", "0_21"],
            r"activations: step 0_21 asks for iteration 21 of epoch 0, but an epoch has only 20",
        ),
        (
            [*PANEL, "activations"],
            ["0_5", "0_15"],
            r"figures.fig1_mlp.panels\[0\].activations: step 0_15 is not on the checkpoint "
            r"schedule of model 'mlp' \(models.mlp.checkpoints\); nearest scheduled steps: "
            r"0_5, 1_0",
        ),
        (
            ["figures", "fig3_resnet18_nobn", "panels", 0, "function"],
            "0_4",
            r"activation step 0_2 comes before the function step 0_4",
        ),
        (
            ["models", "mlp", "checkpoints"],
            [{"every": 5, "from": "1_0", "until": "0_10"}],
            r"models.mlp.checkpoints\[0\]: the range is empty: until 0_10 comes before from 1_0",
        ),
        (
            ["models", "mlp", "checkpoints"],
            ["0_5", "1_5", "91_0"],
            r"models.mlp.checkpoints: step 91_0 \(optimizer step 1820\) is past the training "
            r"length: 90 epochs x 20 iterations = 1800 steps",
        ),
        (
            ["models", "mlp", "images", "photos"],
            ["stereo_motorcycle", "mona_lisa"],
            r"models.mlp.images.photos: 'mona_lisa' is not a photo that ships with scikit-image; "
            r"choose from: astronaut, brick",
        ),
        ([*PANEL, "model"], "vgg", r"unknown model 'vgg'"),
        ([*PANEL, "images"], [0, 99], r"image index 99 out of range"),
        (["models", "mlp", "dataset"], "cifar", r"unknown dataset 'cifar'"),
        (["models", "mlp", "seeds"], [0, 1, 0], r"models.mlp.seeds: seed\(s\) \[0\] repeat"),
        (
            ["models", "mlp", "seeds"],
            [0],
            r"models.mlp.seeds: the cross-seed control .* has one seed \(\[0\]\); add a seed "
            r"or set analyses.cross_seed: false",
        ),
        (
            ["analyses", "candidates"],
            101,
            r"analyses.candidates: 101 identification candidates, but the held-out pool of "
            r"dataset 'mnist' \(model 'mlp'\) holds 100 images",
        ),
        (
            ["analyses", "claims", 0, "lesser", "seeds"],
            [3],
            r"analyses.claims\[0\].lesser.seeds: model 'mlp' is not trained with seed\(s\) \[3\]",
        ),
    ],
)
def test_bad_config_names_the_problem(test_config, path, value, message):
    with pytest.raises(ConfigError, match=message):
        Plan(mutate(test_config, path, value))


def with_mlp_range(config: dict, every: int, count: int) -> dict:
    """``config`` with one grid: mlp fc1 from 0_5, activations {every, count}."""
    config = copy.deepcopy(config)
    spread = {"every": every, "count": count}
    config["analyses"]["grids"] = [
        {"model": "mlp", "layers": ["fc1"], "function": "0_5", "activations": spread}
    ]
    config["analyses"]["claims"] = []
    return config


def test_claim_sides_that_share_no_seed_are_an_error(test_config):
    config = copy.deepcopy(test_config)
    claim = config["analyses"]["claims"][0]
    claim["greater"]["seeds"], claim["lesser"]["seeds"] = [0], [1]
    with pytest.raises(ConfigError, match=r"claims\[0\]: its sides share no training seed"):
        Plan(config)


def test_activation_range_past_the_schedule_is_an_error(test_config):
    config = with_mlp_range(test_config, every=20, count=3)
    with pytest.raises(ConfigError, match=r"analyses.grids\[0\].activations: step 2_5 is not on"):
        Plan(config)


def test_claim_side_that_nothing_inverts_is_an_error(test_config):
    config = copy.deepcopy(test_config)
    config["analyses"]["claims"][0]["greater"]["layers"] = ["fc1", "fc3"]
    config["models"]["mlp"]["layers"]["fc3"] = "fc3"
    with pytest.raises(
        ConfigError, match=r"claims\[0\].greater: no figure or grid inverts mlp:fc3"
    ):
        Plan(config)


def test_image_too_small_for_the_network_names_the_smallest_size(test_config):
    config = copy.deepcopy(test_config)
    config["models"]["resnet18_nobn"]["architecture"] = "alexnet"
    config["models"]["resnet18_nobn"]["layers"] = {"conv1": "features.0", "conv5": "features.10"}
    config["datasets"]["mnist32"]["image_size"] = 8
    with pytest.raises(
        ConfigError,
        match=r"datasets.mnist32.image_size: 8 px is too small for models.resnet18_nobn "
        r"\(alexnet\).*the smallest size at which every layer exists is 63 px",
    ):
        Plan(config)


def test_unquoted_step_label_gets_a_hint(test_config):
    config = mutate(test_config, [*PANEL, "function"], 110)  # what YAML makes of 1_10
    with pytest.raises(ConfigError, match=r"figures.fig1_mlp.panels\[0\].function.*quote"):
        check_step_labels_are_strings(config)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (["models", "mlp", "train", "batch_size"], "64", r"^models.mlp.train.batch_size: '64' is"),
        (["models", "mlp", "train", "lr"], -1.0, r"-1.0 is less than or equal to the minimum of 0"),
        (["inversion", "iterations"], 0, r"^inversion.iterations: 0 is less than the minimum of 1"),
        (["models", "mlp", "train", "lrate"], 0.1, r"^models.mlp.train: unknown key\(s\): 'lrate'"),
        (["resources", "jobs_per_gpu"], 0, r"^resources.jobs_per_gpu: 0 is less than the mini"),
        (["resources", "jobs_per_gpu"], 65, r"^resources.jobs_per_gpu: 65 is greater than the"),
        (["resources", "gpu"], 2, r"^resources.gpu: 2 is greater than the maximum of 1"),
        (["models", "mlp", "invert_chunk"], 0, r"^models.mlp.invert_chunk: 0 is less than the m"),
        (["models", "mlp", "invert_chunk"], 65, r"^models.mlp.invert_chunk: 65 is greater than"),
    ],
)
def test_schema_rejects_wrong_types_ranges_and_unknown_keys(test_config, path, value, message):
    with pytest.raises(ConfigError, match=message):
        check_schema(mutate(test_config, path, value), SCHEMA)
    with pytest.raises(WorkflowError):  # Snakemake's own validator agrees
        validate(mutate(test_config, path, value), str(SCHEMA))


def test_a_missing_key_is_one_line_with_what_the_key_is(test_config):
    config = copy.deepcopy(test_config)
    del config["models"]["mlp"]["checkpoints"]
    with pytest.raises(ConfigError) as error:
        check_schema(config, SCHEMA)
    message = str(error.value)
    assert message.startswith("models.mlp.checkpoints: 'checkpoints' is required: the checkpoint")
    assert "\n" not in message


@pytest.mark.slow
def test_snakemake_refuses_a_bad_config_before_any_job(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    config["models"]["mlp"]["layers"]["fc1"] = "fc7"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    run = run_snakemake(tmp_path, "-n", config=bad, check=False)
    assert run.returncode != 0
    assert "Config error: models.mlp.layers.fc1: unknown layer 'fc7'" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()
    del config["models"]["mlp"]["checkpoints"]
    bad.write_text(yaml.safe_dump(config))
    run = run_snakemake(tmp_path, "-n", config=bad, check=False)
    output = run.stdout + run.stderr
    assert "Config error: models.mlp.checkpoints: 'checkpoints' is required" in output
    assert "Failed validating" not in output  # no schema dump


def test_activation_ranges_expand_from_the_function_step(test_config):
    config = with_mlp_range(test_config, every=10, count=4)
    validate(config, str(SCHEMA))
    config["models"]["mlp"]["checkpoints"] = [{"every": 10, "from": "0_5", "until": "1_15"}]
    plan = Plan(config)
    tps = sorted({j.tp for j in plan.inversions.all if j.t == "0_5" and j.layer == "fc1"})
    # 20 iterations per epoch: 0_5, 0_15, 1_5, 1_15 (+ the controls)
    assert tps == ["0_15", "0_5", "1_15", "1_5", CROSS_SEED, OTHER_IMAGE]


def dry_run_rules(workdir, config: dict, tmp_path, *extra) -> str:
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(config))
    run = run_snakemake(workdir, "-n", "--quiet", "rules", *extra, config=path)
    return run.stdout


@pytest.mark.slow
def test_editing_a_figure_never_plans_training(finished_run, tmp_path):
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    panel = config["figures"]["fig1_mlp"]["panels"][0]
    panel["activations"] = ["0_5", "1_0"]  # another scheduled step instead of 1_5
    panel["images"] = [1, 2]
    config["analyses"]["claims"] = config["analyses"]["claims"][1:]
    out = dry_run_rules(finished_run, config, tmp_path)
    assert {"figure", "invert"} <= planned_rules(out)  # the new 1_0 inversions
    assert not {"train", "prepare_images"} & planned_rules(out), out


@pytest.mark.slow
def test_a_config_on_the_command_line_replaces_the_default(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    del config["models"]["resnet18_nobn"]
    del config["figures"]["fig3_resnet18_nobn"]
    config["analyses"]["grids"] = config["analyses"]["grids"][:1]
    config["analyses"]["distances"] = config["analyses"]["distances"][:1]
    config["analyses"]["claims"] = config["analyses"]["claims"][:1]
    path = tmp_path / "one_model.yaml"
    path.write_text(yaml.safe_dump(config))
    out = run_snakemake(tmp_path / "run", "-n", config=path).stdout
    assert "results/checkpoints/mlp" in out
    for default_only in ("alexnet", "mlp_wide", "resnet18_nobn"):
        assert f"results/checkpoints/{default_only}" not in out, out


@pytest.mark.slow
def test_config_overrides_apply_on_top_of_a_config_file(tmp_path):
    run = run_snakemake(
        tmp_path,
        "-n",
        "--config",
        "models={'mlp': {'checkpoints': ['0_5', '1_5', '1_10']}}",
        "analyses={'grids': [{'model': 'mlp', 'layers': ['fc1'], 'function': '0_5', "
        "'activations': ['1_10']}], 'claims': []}",
    )
    assert "results/inversions/mlp/seed1/fc1/0_5/1_10.npz" in run.stdout


@pytest.mark.slow
def test_the_embedded_default_runs_without_a_config_file(tmp_path):
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", "1"]
    command += ["--directory", str(tmp_path), "--config", "device=cpu"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "results/checkpoints/mlp_wide" in run.stdout
    assert "results/checkpoints/alexnet" in run.stdout


@pytest.mark.parametrize(
    "figure, message",
    [
        ({"kind": "image_grid"}, r"^figures.extra: a figure of kind image_grid needs 'panels'"),
        (
            {"kind": "claims_forest", "panels": []},
            r"^figures.extra: a figure of kind claims_forest takes no 'panels'",
        ),
        (
            {"kind": "width_horizons", "models": ["mlp", "resnet18_nobn"]},
            r"^figures.extra.models: a width_horizons figure compares two or more MLPs "
            r"\(given: mlp, resnet18_nobn; not MLPs: resnet18_nobn\)",
        ),
    ],
)
def test_each_figure_kind_checks_its_own_entry(test_config, figure, message):
    config = copy.deepcopy(test_config)
    config["figures"]["extra"] = figure
    with pytest.raises(ConfigError, match=message):
        Plan(config)


def test_resolving_is_one_pure_step_and_the_checks_only_read(test_config, monkeypatch):
    """check_config leaves its input as it was; the checks read the resolved copy and change
    nothing in it; the schema's defaults are filled in (the schema is where defaults live)."""
    from invertibility.planning import validation
    from invertibility.planning.resolve import resolve_config

    given = copy.deepcopy(test_config)
    resolved = validation.check_config(given)
    assert given == test_config
    assert resolve_config(test_config) == resolved  # checking changed nothing of it
    assert resolved["models"]["mlp"]["train"]["epochs"] == 90  # the schema's default
    assert resolved["analyses"]["partners"] == 3 and resolved["figures"]["fig1_mlp"]["kind"]
    snapshot = {}

    def resolving(config):
        snapshot["resolved"] = resolve_config(config)
        snapshot["before checks"] = copy.deepcopy(snapshot["resolved"])
        return snapshot["resolved"]

    monkeypatch.setattr(validation, "resolve_config", resolving)
    validation.check_config(test_config)
    assert snapshot["resolved"] == snapshot["before checks"]


def test_the_checkpoint_budget_counts_each_models_schedule_and_tensors(test_config, tmp_path):
    """Per trained model: its schedule's length and whole steps, a whole checkpoint's bytes
    equal to the float32 bytes of every tensor a real (initialized) network holds, and a
    layers-only one's equal to the file a training writes at such a step (its tensors' bytes)."""
    from safetensors.torch import load_file

    from invertibility.nets.checkpoints import save_checkpoint
    from invertibility.nets.models import build_model
    from invertibility.nets.scope import tensors_for
    from invertibility.planning.checkpoint_budget import checkpoint_budget

    plan = Plan(test_config)
    table = checkpoint_budget(plan).set_index("model")
    assert set(table.index) == {m for m in plan.models if plan.models[m]["seeds"]}
    for model, row in table.iterrows():
        network = plan.network_spec(model)
        net = build_model(**network)
        assert row["mb_whole"] * 1e6 == 4 * sum(t.numel() for t in net.state_dict().values())
        layers = list(plan.models[model]["layers"].values())
        save_checkpoint(net, tmp_path / "layers.safetensors", {}, tensors_for(network, layers))
        saved = load_file(tmp_path / "layers.safetensors")
        assert row["mb_layers"] * 1e6 == 4 * sum(t.numel() for t in saved.values())
        assert row["checkpoints_per_seed"] == len(plan.schedule(model))
        assert row["whole_per_seed"] == len(plan.models[model]["whole_steps"]) == 1
        layers_only = row["checkpoints_per_seed"] - 1
        expected = row["seeds"] * (row["mb_whole"] + layers_only * row["mb_layers"]) / 1e3
        assert row["gb_all_seeds"] == pytest.approx(expected)
