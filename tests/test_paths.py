from invertibility.core import paths


def test_paths_follow_the_documented_layout():
    assert paths.checkpoint("mlp", 0, "0_10") == "results/checkpoints/mlp/seed0/0_10.safetensors"
    assert paths.images("mlp") == "results/images/mlp.safetensors"
    assert (
        paths.inversion("mlp", 2, "fc1", "0_10", "1_10")
        == "results/inversions/mlp/seed2/fc1/0_10/1_10.npz"
    )
    assert paths.figure("fig1_mlp", "png") == "results/figures/fig1_mlp.png"
    assert paths.training_table("mlp", 1) == "results/tables/training/mlp/seed1.parquet"
    distances = "results/tables/norm_distances/mlp/seed1/fc1.parquet"
    assert paths.norm_distances("mlp", 1, "fc1") == distances


def test_log_and_benchmark_paths_nest_wildcards_in_order():
    assert (
        paths.log("invert", model="m", layer="l", t="0_1", tp="0_2")
        == "logs/invert/m/l/0_1/0_2.log"
    )
    assert paths.benchmark("train", model="m") == "benchmarks/train/m.tsv"
