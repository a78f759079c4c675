"""One label judge per dataset: its classes for every reconstruction, label_kept from them, and
the config errors of a judge that cannot judge."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from test_claims import write_inversion, write_pool

from invertibility.analysis.tables import invertibility_table
from invertibility.core.errors import ConfigError
from invertibility.jobs.judge_job import JUDGED_COLUMNS, judge_labels
from invertibility.nets.checkpoints import save_checkpoint
from invertibility.nets.models import build_model
from invertibility.planning.plan import Plan


def constant_judge(path, answer: int):
    """A 1-channel 8x8 MLP whose output is class ``answer`` for every image."""
    network = {"architecture": "mlp", "num_classes": 3, "input_shape": [1, 8, 8], "hidden": [4]}
    model = build_model(**network)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.fc2.bias[answer] = 1.0
    save_checkpoint(model, path, {"step": "1_0"})
    return network


def test_the_judge_decides_label_kept_for_every_row(tmp_path):
    network = constant_judge(tmp_path / "judge.safetensors", answer=1)
    files = [
        write_inversion(tmp_path / "a.npz", "0_1", 0, [False] * 4),
        write_inversion(tmp_path / "b.npz", "0_5", 4, [False, True, False, False]),
    ]
    spec = {
        "dataset": "d",
        "network": network,
        "checkpoint": str(tmp_path / "judge.safetensors"),
        "mean": [0.0],
        "std": [1.0],
        "device": "cpu",
    }
    judge_labels(spec, files, str(tmp_path / "judged.parquet"))
    judged = pd.read_parquet(tmp_path / "judged.parquet")
    assert {c: str(t) for c, t in judged.dtypes.items()} == JUDGED_COLUMNS
    assert judged["label_judge"].tolist() == [1, 1, 1, 1, 1, -1, 1, 1]  # -1: diverged
    accuracy = pd.DataFrame(
        {"model": "m", "seed": 0, "step": ["0_1", "0_5"], "holdout_accuracy": [0.5, 0.8]}
    )
    pools = {"m": write_pool(tmp_path / "pool.safetensors")}
    table = invertibility_table(files, accuracy, pools, judged)
    # the files' own classifier gives every image its true label; the judge says 1 throughout
    dataset = table[~table["photo"] & ~table["excluded"]]  # i1 diverged at 0_5: its unit gone
    assert (dataset["label_final"] == dataset["label"]).all()
    assert dataset["label_kept"].tolist() == list(dataset["label"] == 1)
    without = invertibility_table(files, accuracy, pools)
    assert without.loc[~without["photo"] & ~without["excluded"], "label_kept"].all()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": "mlp"}, r"'mlp' is trained on 'mnist', not on the dataset it would judge"),
        ({"seed": 5}, r"label_judges.mnist32.seed: model 'judge32' is not trained with seed 5"),
        ({"step": "0_7"}, r"label_judges.mnist32.step: step 0_7 is not on the checkpoint"),
    ],
)
def test_a_judge_that_cannot_judge_is_a_config_error(test_config, change, message):
    config = copy.deepcopy(test_config)
    config["analyses"]["label_judges"]["mnist32"].update(change)
    with pytest.raises(ConfigError, match=message):
        Plan(config)


def test_the_plan_judges_every_inversion_of_the_dataset(test_config):
    plan = Plan(copy.deepcopy(test_config))
    assert plan.judges.datasets() == ["mnist32"]
    judged = plan.judges.inversions("mnist32")
    assert judged and all("/resnet18_nobn/" in path for path in judged)
    assert plan.judges.spec("mnist32")["checkpoint"].endswith("judge32/seed0/1_0.safetensors")
    assert np.isclose(plan.judges.spec("mnist32")["mean"][0], 0.1307)
