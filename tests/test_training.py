"""The training loop against the textbook: SGD with momentum, and its per-step table."""

import copy

import torch
import torch.nn.functional as F

from invertibility.methods.training import TrainSettings, train
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
