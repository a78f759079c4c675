"""Run the real DAG on config/test_ablations.yaml: width, skip and batch-norm variants, their
diagnostics, the trend and two-sided claims and the ablation figures."""

import pandas as pd
import pytest
from conftest import ROOT, load_config, run_snakemake

from invertibility.core import paths
from invertibility.core.inversion_io import load_inversion
from invertibility.planning.plan import Plan

pytestmark = pytest.mark.slow
CONFIG = ROOT / "config" / "test_ablations.yaml"


@pytest.fixture(scope="module")
def ablation_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ablations")
    run_snakemake(workdir, config=CONFIG)
    return workdir


def test_every_variant_trains_inverts_and_is_diagnosed(ablation_run):
    plan = Plan(load_config(CONFIG))
    expected = [job.path for job in plan.inversions.all]
    expected += [
        paths.diagnostics(m, s, k)
        for m, s in plan.diagnostics.runs()
        for k in ("weights", "similarity")
    ]
    expected += [paths.figure(n, ext) for n in plan.figures.names() for ext in ("pdf", "png")]
    missing = [p for p in expected if not (ablation_run / p).is_file()]
    assert not missing, missing
    # the batch-norm variant is inverted in eval mode (recorded in every file)
    bn = load_inversion(ablation_run / paths.inversion("resnet18_bn", 0, "block", "0_2", "0_4"))
    assert bn["network_mode"] == "eval" and not bn["diverged"].any()


def test_skip_connections_show_in_the_block_diagnostics(ablation_run):
    def block(model):
        table = pd.read_parquet(ablation_run / paths.block_diagnostics(model, 0))
        return table[(table["step"] == 0) & (table["block"] == "layer1.1")].iloc[0]

    # with an identity path the block's output stays near its input (relative step < 1);
    # without it the output is relu(F(x)), unrelated in scale to x
    assert block("resnet18_nobn")["residual_step"] < block("resnet18_noskip")["residual_step"]
    # gradient norms: the skipless stack loses the gradient on its way down
    assert block("resnet18_noskip")["grad_out"] < block("resnet18_nobn")["grad_out"]


def test_claims_of_every_new_kind_have_rows_and_stay_inconclusive_on_one_seed(ablation_run):
    claims = pd.read_csv(ablation_run / paths.claims()).set_index("kind")
    assert {"trend", "compare", "predictor"} <= set(claims.index)
    assert (claims["verdict"] == "inconclusive").all()  # one seed: no verdict
    trend = claims.loc["trend"]
    assert trend["n_seeds"] == 1 and "32: " in trend["detail"] and "128: " in trend["detail"]
    assert "rests on 1 seeds" in trend["reason"]


def test_a_second_ablation_run_has_nothing_to_do(ablation_run):
    run = run_snakemake(ablation_run, "-n", config=CONFIG)
    assert "Nothing to be done" in run.stdout + run.stderr
