import pytest

from invertibility.core.errors import ConfigError
from invertibility.core.steps import Step, iterations_per_epoch, parse_step, step_from_index


def test_iterations_per_epoch_counts_the_last_partial_batch():
    assert iterations_per_epoch(4500, 64) == 71
    assert iterations_per_epoch(4480, 64) == 70
    assert iterations_per_epoch(1, 64) == 1


def test_parse_step_and_index():
    step = parse_step("1_10", per_epoch=71)
    assert step == Step(1, 10)
    assert step.index(71) == 81
    assert parse_step("0_0").index(71) == 0
    assert step_from_index(81, 71).label == "1_10"


def test_end_of_epoch_is_allowed_and_equals_next_epoch_start():
    assert parse_step("0_71", 71).index(71) == parse_step("1_0", 71).index(71)


@pytest.mark.parametrize("label", ["1-10", "1_", "_3", "a_b", "1_2_3", "", "110"])
def test_malformed_labels_are_config_errors(label):
    with pytest.raises(ConfigError, match="not a step label"):
        parse_step(label)


def test_iteration_past_the_end_of_an_epoch_is_a_config_error():
    with pytest.raises(ConfigError, match=r"iteration 72 of epoch 0.*only 71 iterations"):
        parse_step("0_72", per_epoch=71, where="figures.fig1.panels[0].activations")
