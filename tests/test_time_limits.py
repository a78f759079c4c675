"""Jobs that would outlast a cluster's time limit are named before any job is submitted."""

from conftest import ROOT, run_snakemake

from invertibility.planning.plan import Plan
from invertibility.planning.time_limits import over_the_limit

RESOURCES = {"train_runtime": 60, "invert_runtime": 30}


def test_no_limit_no_warning_and_a_chunk_over_the_limit_is_named(test_config):
    plan = Plan(test_config)
    assert over_the_limit(plan, RESOURCES) == []
    assert over_the_limit(plan, {**RESOURCES, "time_limit": 600}) == []
    messages = over_the_limit(plan, {**RESOURCES, "time_limit": 45})
    assert len(messages) == 1 and messages[0].startswith("resources.train_runtime (60 min)")
    # a chunked model whose largest chunk needs two optimizations of 30 minutes
    config = {**test_config, "models": {**test_config["models"]}}
    config["models"]["mlp"] = {**config["models"]["mlp"], "invert_chunk": 2}
    plan = Plan(config)
    largest = max(plan.inversions.batches(c) for c in plan.inversions.chunks)
    assert largest >= 2
    messages = over_the_limit(plan, {"train_runtime": 30, "invert_runtime": 30, "time_limit": 45})
    (chunk,) = messages
    assert chunk.startswith("models.mlp: its largest inversion chunk")
    assert f"runs {largest} batched optimizations of 2 steps" in chunk


def test_planning_warns_of_a_job_longer_than_the_time_limit(tmp_path):
    limit = tmp_path / "limit.yaml"
    limit.write_text("resources: {time_limit: 20, train_runtime: 30}\n")
    run = run_snakemake(tmp_path / "run", "-n", config=[ROOT / "config" / "test.yaml", limit])
    said = run.stdout + run.stderr
    assert "Warning: resources.train_runtime (30 min) exceeds resources.time_limit" in said
