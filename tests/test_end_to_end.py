"""Run the real DAG on config/test.yaml (real MNIST, real training and inversion)."""

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, load_config, planned_rules, run_snakemake

from invertibility.analysis.recognition import load_pool, row_measures
from invertibility.analysis.stats import ALPHA, holm
from invertibility.core import paths
from invertibility.core.inversion_io import largest_differences, load_inversion
from invertibility.planning.plan import Plan

pytestmark = pytest.mark.slow


def test_every_expected_file_exists(finished_run):
    plan = Plan(load_config(ROOT / "config" / "test.yaml"))
    runs = plan.runs()
    # the MLP's three seeds, the ResNet's two, the label judge of mnist32, the augmentation
    # experiment's MLP's three
    assert len(runs) == 9
    expected = [paths.training_table(m, seed) for m, seed in runs]
    expected += [paths.checkpoint_accuracy(m, seed) for m, seed in runs]
    expected += [paths.checkpoint(m, seed, s) for m, seed in runs for s in plan.schedule(m)]
    expected += [paths.images(m) for m in ("mlp", "resnet18_nobn")]
    expected += [job.path for job in plan.inversions.all]
    expected += [paths.figure(n, ext) for n in plan.figures.names() for ext in ("pdf", "png")]
    expected += ["logs/train/mlp/seed1.log", "benchmarks/train/mlp/seed1.tsv"]
    expected += ["logs/prepare_images/mlp.log", "benchmarks/invert/mlp/seed1/fc1/0_5/1_5.tsv"]
    expected += [
        paths.table(name)
        for name in (
            "invertibility",
            "invertibility_summary",
            "invertibility_horizons",
            "invertibility_horizons_by_seed",
        )
    ]
    expected += [paths.norm_distances(m, seed, layer) for m, seed, layer in plan.distances.jobs()]
    expected += [paths.claims(), paths.claims_by_seed(), paths.judged_labels("mnist32")]
    expected += [paths.block_diagnostics(m, seed) for m, seed in runs]
    expected += [
        paths.diagnostics(m, seed, kind)
        for m, seed in plan.diagnostics.runs()
        for kind in ("weights", "similarity")
    ]
    expected += [paths.table("predictors"), paths.table("predictor_units")]
    expected += list(plan.experiments["augmentation"].tables().values())
    expected += [
        path
        for seed in plan.experiments["augmentation"].seeds()
        for path in plan.experiments["augmentation"].outputs(seed).values()
    ]
    expected += [
        paths.figure(n, ext)
        for n in ("fig6_norm_distances", "fig7_invertibility_curves", "fig8_claims")
        for ext in ("pdf", "png")
    ]
    missing = [p for p in expected if not (finished_run / p).is_file()]
    assert not missing, missing
    # exactly the scheduled steps are kept
    folder = finished_run / "results/checkpoints/mlp/seed1"
    kept = sorted(p.stem for p in folder.glob("*.safetensors"))
    assert kept == ["0_5", "1_0", "1_5"]


def test_training_table_is_typed_and_learns(finished_run):
    table = pd.read_parquet(finished_run / paths.training_table("mlp", 0))
    assert list(table.columns) == ["step", "epoch", "iteration", "lr", "loss", "accuracy"]
    assert table["step"].tolist() == list(range(1, 26))  # stops after 1_5 = step 25
    assert str(table["loss"].dtype) == "float64"
    assert table["loss"].tail(5).mean() < table["loss"].head(5).mean()


def test_inversion_metrics_are_sane(finished_run):
    def load(model, seed, layer, t, tp):
        return load_inversion(finished_run / paths.inversion(model, seed, layer, t, tp))

    same = load("mlp", 0, "fc1", "0_5", "0_5")
    other = load("mlp", 0, "fc1", "0_5", "other_image")
    cross = load("mlp", 0, "fc1", "0_5", "cross_seed")
    assert same["reconstructions"].shape == same["originals"].shape == (10, 1, 28, 28)
    assert same["label"].tolist() == list(range(10))
    assert not same["diverged"].any()
    assert np.all(same["feature_error"] < 0.5)
    # three held-out partners of another class per image, each inverted
    assert other["reconstructions"].shape == (30, 1, 28, 28)
    assert (other["target_image_id"] != other["image_id"]).all()
    # a perfect target reconstructs and identifies x_i better than another image's target
    assert np.median(same["image_error"]) < np.median(other["image_error"])
    pool = load_pool(str(finished_run / paths.images("mlp")))

    def identified(r):  # measured on the analysis side, as the tables do
        ids, targets, labels = r["image_id"], r["target_image_id"], r["label"]
        return (
            row_measures(r["reconstructions"], r["originals"], ids, targets, labels, pool)["rank"]
            == 0
        )

    assert identified(same).mean() > identified(other).mean()
    assert "rank" not in same  # the ranks are the analysis side's, not the job's
    assert same["n_candidates"] == 100 and same["seed"] == 0
    assert same["classifier_step"] == "1_5" and same["iterations"] == 40
    assert same["p"] == 0 and other["p"] is None and cross["p"] is None
    assert same["drift"] == 0.0 and np.isnan(other["drift"])
    assert cross["drift"] > 0.5  # two independent initializations: far apart
    later = load("mlp", 0, "fc1", "0_5", "1_5")
    assert later["p"] == 20 and 0 < later["drift"] < cross["drift"]
    assert 0 < same["loop_seconds"] < 60
    conv = load("resnet18_nobn", 1, "conv5", "0_2", "0_4")
    assert conv["reconstructions"].shape == (11, 3, 32, 32)
    assert conv["image_id"][-1] == "photo:stereo_motorcycle" and conv["label"][-1] == -1
    assert conv["lambda_tv"] == pytest.approx(0.001 * 10 ** (4 / 2), rel=1e-3)  # depth 5


def test_a_second_run_has_nothing_to_do(finished_run):
    run = run_snakemake(finished_run, "-n")
    assert "Nothing to be done" in run.stdout + run.stderr


def test_the_report_holds_every_figure_and_the_claims(finished_run):
    run_snakemake(finished_run, "--report", "report.html")
    html = (finished_run / "report.html").read_text()
    for name in ("fig1_mlp", "fig3_resnet18_nobn", "fig6_norm_distances", "claims.csv"):
        assert name in html, name


def test_one_job_runs_again_alone_from_its_call_file(finished_run, tmp_path):
    """The call written beside a job's log reruns that job outside Snakemake, to the same
    result (an MLP inversion on the CPU is deterministic); here into a scratch file, so that the
    finished run stays as it was."""
    import json
    import subprocess
    import sys

    from invertibility.jobs.call import call_path

    log = paths.log("invert", model="mlp", seed="seed0", layer="fc1", t="0_5", tp="1_5")
    call_file = finished_run / call_path(log)
    assert call_file.is_file(), f"no call file beside {log}"
    call = json.loads(call_file.read_text())
    assert call["job"] == "invert"
    original = finished_run / call["arguments"]["outputs"][0]
    call["arguments"]["outputs"] = [str(tmp_path / "again.npz")]
    scratch_call = tmp_path / "call.json"
    scratch_call.write_text(json.dumps(call))
    run = subprocess.run(
        [sys.executable, "-m", "invertibility.jobs", str(scratch_call)],
        cwd=finished_run,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    again, before = load_inversion(tmp_path / "again.npz"), load_inversion(original)
    np.testing.assert_array_equal(again["reconstructions"], before["reconstructions"])
    assert (again["model"], again["layer"], again["t"], again["tp"]) == ("mlp", "fc1", "0_5", "1_5")


def test_sharing_gpus_differently_reruns_nothing(finished_run, tmp_path):
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    config.setdefault("resources", {})["jobs_per_gpu"] = 3
    changed = tmp_path / "shared.yaml"
    changed.write_text(yaml.safe_dump(config))
    run = run_snakemake(finished_run, "-n", config=changed)
    assert "Nothing to be done" in run.stdout + run.stderr


def test_changing_an_inversion_setting_reruns_inversions_not_training(finished_run, tmp_path):
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    config["inversion"]["lambda_tv"] = 0.02
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    out = run_snakemake(finished_run, "-n", "--quiet", "rules", config=changed).stdout
    assert "invert" in out and "figure" in out
    assert "train" not in planned_rules(out) and "invert" in planned_rules(out)


def test_tables_have_the_documented_columns_and_dtypes(finished_run):
    from invertibility.analysis.tables import INVERTIBILITY_COLUMNS
    from invertibility.methods.distances import DISTANCE_COLUMNS

    table = pd.read_parquet(finished_run / paths.table("invertibility"))
    assert {c: str(t) for c, t in table.dtypes.items()} == {
        c: str(pd.Series(dtype=t).dtype) for c, t in INVERTIBILITY_COLUMNS.items()
    }
    # per seed: 2 mlp layers x (2 steps + cross-seed + 3 other-image partners) x 10 images
    # (3 seeds), 2 resnet layers x 6 x 11 images (2 seeds)
    assert len(table) == 3 * 2 * 6 * 10 + 2 * 2 * 6 * 11
    assert set(table["seed"]) == {0, 1, 2}
    same = table[(table["tp"] == table["t"]) & ~table["photo"]]
    assert (same["drift"] == 0).all()
    distances = pd.read_parquet(finished_run / paths.norm_distances("mlp", 1, "fc1"))
    assert list(distances.columns) == list(DISTANCE_COLUMNS)
    assert set(distances["kind"]) == {"other_class", "same_image"}
    # the nearest other-class image comes from the whole held-out pool (90 per mlp image)
    other = distances[distances["kind"] == "other_class"]
    assert other.groupby(["t", "image_id"]).size().eq(90).all()
    summary = pd.read_parquet(finished_run / paths.table("invertibility_summary"))
    for measure in ("retained", "identified", "identified_all", "similarity", "ssim"):
        finite = summary.dropna(subset=[measure, f"{measure}_low"])
        assert (finite[f"{measure}_low"] <= finite[measure] + 1e-12).all()
        assert (finite[measure] <= finite[f"{measure}_high"] + 1e-12).all()
    assert set(summary.groupby("model")["n_seeds"].max().items()) == {
        ("mlp", 3),
        ("resnet18_nobn", 2),
    }
    assert set(summary["images"]) == {"dataset", "photos"}
    horizons = pd.read_parquet(finished_run / paths.table("invertibility_horizons"))
    assert set(horizons["layer"]) == {"fc1", "fc2", "conv1", "conv5"}
    by_seed = pd.read_parquet(finished_run / paths.table("invertibility_horizons_by_seed"))
    keys = ["model", "layer", "t"]
    assert set(map(tuple, by_seed[keys].to_numpy())) == set(map(tuple, horizons[keys].to_numpy()))
    assert set(by_seed["seed"]) == {0, 1, 2}
    assert (horizons["n_seeds"] + horizons["n_seeds_unmeasurable"] <= 3).all()


def test_claims_table_has_a_verdict_per_claim(finished_run):
    claims = pd.read_csv(finished_run / paths.claims())
    from invertibility.analysis.claims import CLAIM_COLUMNS

    assert list(claims.columns) == CLAIM_COLUMNS
    # two compares, threshold; distance and norm_predicts pooled (primary) and once per
    # distances entry (two, exploratory); predictor; the augmentation experiment's three
    assert len(claims) == 13
    assert list(claims["family"]).count("primary") == 6
    assert list(claims["family"]).count("augmentation") == 3
    # Holm within each family (the CSV keeps 4 significant digits)
    for family in ("primary", "augmentation"):
        rows = claims[claims["family"] == family]
        np.testing.assert_allclose(rows["p_adjusted"], holm(rows["p_value"]), rtol=2e-3)
    by_claim = claims.set_index("claim")
    # the MLP's three seeds decide that fc1 loses invertibility within an epoch: the supported
    # path, Holm, the parts and the seed spread, end to end
    lost = by_claim.loc["MLP: fc1 loses invertibility within an epoch"]
    assert lost["verdict"] == "supported", lost.to_dict()
    assert lost["n_seeds"] == 3 and lost["design"] == "paired" and not lost["gated"]
    assert 0.3 < lost["value"] < 1 and lost["low"] > 0 and lost["p_adjusted"] < ALPHA
    assert "retained_raw" in lost["parts"] and "greater side retains" in lost["parts"]
    # the ResNet's two seeds: no verdict, and each row says why (two seeds, or for the pooled
    # claims an entry without enough seeds to measure)
    resnet = claims[
        claims["detail"].str.contains("resnet18_nobn") & ~claims["detail"].str.contains("mlp")
    ]
    assert resnet["verdict"].str.endswith("inconclusive").all()
    assert resnet["reason"].str.contains(r"rests on [02] seeds|reliability").all()
    # each interval at the level the claim is judged at: 95% exploratory, Holm's for a primary
    assert (claims.loc[claims["family"] == "exploratory", "level"] == 0.95).all()
    primary = claims[claims["family"] != "exploratory"]  # every family's, Holm within each
    decided = primary.dropna(subset=["p_value"]).query("p_value > 0")
    holm_level = 1 - 2 * ALPHA * np.minimum(1, decided["p_value"] / decided["p_adjusted"])
    np.testing.assert_allclose(decided["level"], holm_level, rtol=2e-3)


def test_diagnostics_tables_have_the_documented_columns(finished_run):
    from invertibility.analysis.predictors import PREDICTOR_COLUMNS, PREDICTORS
    from invertibility.jobs.diagnostics_job import SIMILARITY_COLUMNS, WEIGHT_COLUMNS
    from invertibility.methods.block_probe import BLOCK_COLUMNS

    def dtypes(frame):
        return {c: str(t) for c, t in frame.dtypes.items()}

    def documented(columns):
        return {c: str(pd.Series(dtype=t).dtype) for c, t in columns.items()}

    blocks = pd.read_parquet(finished_run / paths.block_diagnostics("resnet18_nobn", 0))
    assert dtypes(blocks) == documented(BLOCK_COLUMNS)
    assert blocks["block"].unique().tolist()[:3] == ["conv1", "layer1.0", "layer1.1"]
    assert blocks["step"].unique().tolist() == [0, 2]  # step 0 and the saved 0_2 (not the last)
    assert (blocks["grad_ratio"] > 0).all()
    weights = pd.read_parquet(finished_run / paths.diagnostics("mlp", 1, "weights"))
    assert dtypes(weights) == documented(WEIGHT_COLUMNS)
    assert weights["step"].tolist() == ["0_5", "0_5", "1_0", "1_0", "1_5", "1_5"]
    assert (weights["frame_potential"] >= 1).all()
    assert weights["drift_own"].isna().sum() == 2  # no previous checkpoint for the first
    similarity = pd.read_parquet(finished_run / paths.diagnostics("mlp", 1, "similarity"))
    assert dtypes(similarity) == documented(SIMILARITY_COLUMNS)
    assert set(zip(similarity["layer"], similarity["tp"], strict=True)) == {
        ("fc1", "1_5"),
        ("fc2", "1_5"),
    }
    table = pd.read_parquet(finished_run / paths.table("invertibility"))
    drift = table[(table["model"] == "mlp") & (table["seed"] == 1) & (table["tp"] == "1_5")]
    for layer, rows in drift.groupby("layer"):  # D_l as the inversions computed it
        assert similarity.set_index("layer").loc[layer, "drift"] == pytest.approx(
            rows["drift"].iloc[0]
        )
    assert ((similarity["cka"] > 0) & (similarity["cka"] <= 1 + 1e-9)).all()
    predictors = pd.read_parquet(finished_run / paths.table("predictors"))
    assert dtypes(predictors) == documented(PREDICTOR_COLUMNS)
    assert predictors["predictor"].tolist() == list(PREDICTORS)
    units = pd.read_parquet(finished_run / paths.table("predictor_units"))
    # (mlp: fc1, fc2) x 3 seeds + (resnet: conv1, conv5) x 2 seeds, one tp > t each
    assert len(units) == 2 * 3 + 2 * 2


def test_a_job_reads_the_prepared_images(finished_run):
    from invertibility.data import image_sets

    plan = Plan(load_config(ROOT / "config" / "test.yaml"))
    prepared = image_sets.load(
        finished_run / paths.images("resnet18_nobn"), plan.images_fingerprint("resnet18_nobn")
    )
    assert prepared.images.shape == (11, 3, 32, 32)
    result = load_inversion(
        finished_run / paths.inversion("resnet18_nobn", 0, "conv1", "0_2", "0_2")
    )
    assert result["image_id"].tolist() == prepared.ids
    np.testing.assert_allclose(
        result["originals"], prepared.to_pixels(prepared.images).numpy(), atol=1e-6
    )


def test_one_label_judge_decides_the_labels_of_its_dataset(finished_run):
    """mnist32 has a label judge (judge32): every resnet row gets its class; the MLP's dataset
    has none, so its rows keep their own classifier's judgement."""
    table = pd.read_parquet(finished_run / paths.table("invertibility"))
    assert (finished_run / paths.judged_labels("mnist32")).exists()
    resnet = table[table["model"] == "resnet18_nobn"]
    assert resnet["label_judge"].notna().all()
    assert table.loc[table["model"] == "mlp", "label_judge"].isna().all()


@pytest.mark.parametrize("model, steps_per_batch", [("mlp", 2), ("resnet18_nobn", 8)])
def test_a_chunked_model_writes_the_files_its_unchunked_jobs_write(
    finished_run, tmp_path, model, steps_per_batch
):
    """invert_chunk: all activation steps of a (seed, layer, t) in one job, which writes their
    folder, in batches of ``invert_chunk`` steps (the MLP's 4-5 steps in several, the
    ResNet's in one); each file equals the one its own job wrote (images are independent
    problems with fixed starts; only the floating-point order of a bigger batch may differ),
    for an MLP and for a conv net, whose batched convolutions may take other kernels than one
    file's batch."""
    workdir = tmp_path / "chunked"
    for kept in ("checkpoints", "images"):
        shutil.copytree(finished_run / "results" / kept, workdir / "results" / kept)
    overlay = tmp_path / "chunked.yaml"
    overlay.write_text(yaml.safe_dump({"models": {model: {"invert_chunk": steps_per_batch}}}))
    config = [ROOT / "config" / "test.yaml", overlay]
    plan = Plan(load_config(ROOT / "config" / "test.yaml"))
    jobs = [job for job in plan.inversions.all if job.model == model]
    folders = sorted({job.folder for job in jobs})
    run = run_snakemake(workdir, *folders, config=config)
    assert set(planned_rules(run.stdout + run.stderr)) == {"invert_chunk"}
    # one job per (seed, layer, t): its seeds x 2 layers, each with its steps and controls
    assert len(folders) == 2 * len(plan.seeds(model))
    assert len(list((workdir / "logs" / "invert_chunk" / model).rglob("*.log"))) == len(folders)
    for path in (job.path for job in jobs):
        ours, theirs = load_inversion(workdir / path), load_inversion(finished_run / path)
        differences = largest_differences(ours, theirs)
        floats = {key for key, value in theirs.items() if np.asarray(value).dtype.kind == "f"}
        # pixels, errors and drift are of order 1: 1e-4 is far below any measure's resolution
        assert all(differences[key] <= 1e-4 for key in floats - {"loop_seconds"}), differences
        assert all(differences[key] == 0 for key in set(differences) - floats), differences


def test_every_figure_fits_a_page(finished_run):
    from test_figures import PAGE_ASPECTS, aspect

    figures = sorted((finished_run / "results" / "figures").glob("*.png"))
    assert figures
    outside = {f.name: round(aspect(f), 2) for f in figures}
    outside = {
        name: a for name, a in outside.items() if not PAGE_ASPECTS[0] <= a <= PAGE_ASPECTS[1]
    }
    assert not outside, f"width / height outside {PAGE_ASPECTS}: {outside}"
