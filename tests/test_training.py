"""The training loop against the textbook: SGD with momentum, and its per-step table."""

import copy
import logging

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from invertibility.core.errors import TrainingDiverged
from invertibility.methods.resume import ResumeState, TrainingStopped, deadline
from invertibility.methods.training import TrainSettings, check_finite, train
from invertibility.nets.mlp import MLP


def test_steps_and_table_are_momentum_sgd_on_the_batch():
    """One batch per epoch (the whole set), so the shuffled order cannot change a step: two
    steps of ``train`` must equal two steps of momentum SGD written out by hand, and the table
    must hold each step's loss and accuracy (read back from the device once, at the end)."""
    torch.manual_seed(0)
    images, labels = torch.randn(32, 1, 4, 4), torch.randint(0, 3, (32,))
    data = torch.utils.data.TensorDataset(images, labels)
    lr, momentum = 0.1, 0.9
    settings = TrainSettings(lr=lr, momentum=momentum, batch_size=32, seed=0)
    model = MLP(16, [8], 3)
    reference = copy.deepcopy(model)
    saved = {}
    table = train(
        model,
        data,
        settings,
        [2],
        1,
        lambda m, step: saved.update({k: v.clone() for k, v in m.state_dict().items()}),
        torch.device("cpu"),
        progress=False,
    )
    buffers = [torch.zeros_like(p) for p in reference.parameters()]
    losses, accuracies = [], []
    for _ in range(2):
        logits = reference(images)
        loss = F.cross_entropy(logits, labels)
        losses.append(loss.item())
        accuracies.append((logits.argmax(1) == labels).float().mean().item())
        grads = torch.autograd.grad(loss, list(reference.parameters()))
        with torch.no_grad():
            for parameter, grad, buffer in zip(reference.parameters(), grads, buffers, strict=True):
                buffer.mul_(momentum).add_(grad)
                parameter.sub_(lr * buffer)
    assert table["step"].tolist() == [1, 2]
    assert table["epoch"].tolist() == [0, 1]
    torch.testing.assert_close(torch.tensor(table["loss"].tolist()), torch.tensor(losses))
    assert table["accuracy"].tolist() == accuracies
    for name, tensor in reference.state_dict().items():
        torch.testing.assert_close(saved[name], tensor, rtol=1e-5, atol=1e-6)


def test_a_training_whose_loss_overflows_stops_before_saving_a_non_finite_network():
    """A step size no network survives: the loss overflows within a few steps; the training
    raises, naming the config key to change, and saves nothing from there on (the
    initialization, finite, is saved)."""
    torch.manual_seed(0)
    images, labels = torch.randn(32, 1, 4, 4) * 100, torch.randint(0, 3, (32,))
    saved = []
    with pytest.raises(TrainingDiverged, match=r"training loss is (nan|inf) .*train\.lr"):
        train(
            MLP(16, [64, 64], 3),
            torch.utils.data.TensorDataset(images, labels),
            TrainSettings(lr=1e4, momentum=0.9, batch_size=8, seed=0),
            [0, 40],
            4,
            lambda m, step: saved.append(step),
            torch.device("cpu"),
            progress=False,
        )
    assert saved == [0]


def test_the_first_non_finite_step_is_named_in_the_papers_notation():
    """``batch_stats[i]`` is optimizer step ``i + 1``'s loss, computed from the weights after
    step ``i``; a check from ``since`` on names the first bad one after it, and a non-finite
    buffer (batch norm's running variance) is caught as a weight is."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    stats = [torch.tensor([1.0, 0.5]), torch.tensor([2.0, 0.5]), torch.tensor([float("nan"), 0])]
    check_finite(model, stats[:2], 0, 2, 4)  # all finite: no error
    message = r"loss is nan at optimizer step 3 \(the forward pass of the weights 0_2\)"
    with pytest.raises(TrainingDiverged, match=message):
        check_finite(model, stats, 0, 3, 4)
    twice = stats * 2  # non-finite losses at steps 3 and 6
    check_finite(model, twice[:5], 3, 5, 4)  # steps 4 and 5 alone: finite
    with pytest.raises(
        TrainingDiverged, match=r"optimizer step 6 \(the forward pass of the weights 1_1\)"
    ):
        check_finite(model, twice, 3, 6, 4)
    model[1].running_var[0] = float("inf")
    with pytest.raises(
        TrainingDiverged, match=r"after step 1_1 \(optimizer step 5\) .* 1\.running_var"
    ):
        check_finite(model, stats[:2], 0, 5, 4)


def dropout_net():
    """A net whose steps draw from torch's generator (dropout), so a resume must restore it."""
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(16, 32),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(32, 3),
    )


class Jittered(torch.utils.data.Dataset):
    """Images with random noise added on each read: a random transform, like an ImageNet crop."""

    random_transforms = True

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i] + 0.1 * torch.randn_like(self.images[i]), self.labels[i]


def train_dropout_net(resume=None, workers=0):
    """100 images, jittered on each read, in batches of 16 (7 per epoch, the last one short),
    the step size cut every two epochs; the weights at steps 0, 10 and 30."""
    torch.manual_seed(0)
    data = Jittered(torch.randn(100, 1, 4, 4), torch.randint(0, 3, (100,)))
    settings = TrainSettings(
        lr=0.1, momentum=0.9, batch_size=16, seed=3, lr_step_epochs=2, workers=workers
    )
    saved = {}

    def save(model, step):
        saved[step] = {k: v.clone() for k, v in model.state_dict().items()}

    table = train(
        dropout_net(),
        data,
        settings,
        [0, 10, 30],
        7,
        save,
        torch.device("cpu"),
        progress=False,
        resume=resume,
    )
    return saved, table


class StopAt(ResumeState):
    """A resume state whose time runs out once it has been written at step ``step`` or later."""

    def __init__(self, folder, step):
        self.stop_step, self.stopped = step, False
        super().__init__(folder, key="job", every_seconds=0)

    def write(self, training):
        super().write(training)
        self.stopped = training["step"] >= self.stop_step

    def out_of_time(self):
        return self.stopped


@pytest.mark.parametrize(
    ("stop_at", "stopped_at", "workers"),
    [(3, 3, 0), (7, 8, 0), (12, 12, 0), (12, 12, 2)],
    ids=["mid-epoch", "epoch-end", "second-epoch", "two-workers"],
)
def test_a_stopped_training_resumes_to_the_same_steps(
    tmp_path, stop_at, stopped_at, workers, caplog
):
    """Stopped at a step (its state written at every step but an epoch's last, so a stop due
    at the end of the first epoch comes one step later), then run again with a fresh network:
    the same weights at every saved step and the same table as never stopping, bit for bit
    (the order of the batches, each image's random transform, in the main process or in
    loader workers, dropout's draws, the momentum and the step-size schedule all carried
    over)."""
    uninterrupted, table = train_dropout_net(workers=workers)
    with pytest.raises(TrainingStopped, match=f"stopped at step {stopped_at} of 30"):
        train_dropout_net(StopAt(tmp_path / "state", stop_at), workers=workers)
    with caplog.at_level(logging.INFO):
        resumed, resumed_table = train_dropout_net(
            ResumeState(tmp_path / "state", key="job", every_seconds=1e9), workers=workers
        )
    assert f"resumed at step {stopped_at}" in caplog.text
    assert sorted(resumed) == [step for step in (10, 30) if step > stopped_at]
    for step in resumed:
        for name, tensor in uninterrupted[step].items():
            assert torch.equal(resumed[step][name], tensor), (step, name)
    pd.testing.assert_frame_equal(resumed_table, table)


def test_a_state_of_another_job_is_discarded_and_said(tmp_path, caplog):
    first = ResumeState(tmp_path / "state", key="spec A", every_seconds=0)
    first.keep("rows").append(1)
    first.write({"step": 5})
    assert ResumeState(tmp_path / "state", key="spec A", every_seconds=0).state["step"] == 5
    with caplog.at_level(logging.WARNING):
        other = ResumeState(tmp_path / "state", key="spec B", every_seconds=0)
    assert other.state is None and other.keep("rows") == []
    assert "written for another spec or code" in caplog.text
    assert not (tmp_path / "state").exists()
    (tmp_path / "torn").mkdir()
    (tmp_path / "torn" / "state.pt").write_bytes(b"half a state")
    with caplog.at_level(logging.WARNING):
        assert ResumeState(tmp_path / "torn", key="spec A", every_seconds=0).state is None
    assert "unreadable resume state" in caplog.text


def test_the_deadline_is_the_time_limit_less_the_margin_under_slurm_only():
    assert deadline(60, 600, environ={}, now=lambda: 100.0) is None
    assert deadline(None, 600, environ={"SLURM_JOB_ID": "7"}, now=lambda: 100.0) is None
    assert deadline(60, 600, environ={"SLURM_JOB_ID": "7"}, now=lambda: 100.0) == 3100.0


def test_an_images_random_transform_depends_on_its_epoch_and_index_alone():
    """The same (epoch, index) reads the same jitter whatever was drawn before; another epoch
    reads another; the process's generator is left as it was."""
    from invertibility.methods.training import EpochSeeded

    seeded = EpochSeeded(Jittered(torch.zeros(5, 1, 2, 2), torch.zeros(5)), seed=7)
    first = seeded[3][0]
    torch.rand(10)  # draws in between change nothing
    assert torch.equal(seeded[3][0], first)
    assert not torch.equal(seeded[2][0], first)
    seeded.epoch = 1
    assert not torch.equal(seeded[3][0], first)
    state = torch.get_rng_state()
    seeded[4]
    assert torch.equal(torch.get_rng_state(), state)
