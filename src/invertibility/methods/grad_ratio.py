"""The gradient-norm ratio below a layer, ``||dL/dx|| / ||dL/dr_l||``: how much of the loss's
gradient at the layer's output reaches the input. Measured by the training job at every saved
step (the whole network is in memory there; a checkpoint may hold only the layers' tensors), on
the first ``GRAD_IMAGES`` held-out images, and averaged over ``t..tp`` by the diagnostics job.
"""

from __future__ import annotations

import torch

from ..nets.taps import get_module

GRAD_IMAGES = 128  # held-out images in the batch whose gradients give grad_ratio_below


def grad_ratios_below(
    net: torch.nn.Module, modules: list[str], images: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    """``||dL/dx|| / ||dL/dr_l||`` for each of ``modules`` on the batch ``images``, ``L`` the
    mean cross-entropy, all from one backward pass: the gradient at the input over the gradient
    at each module's output (one pass per checkpoint instead of one per layer; each layer's
    ratio is the arithmetic of a pass that asked for that layer alone)."""
    modules = list(dict.fromkeys(modules))  # two display names may share a module
    captured: dict[str, torch.Tensor] = {}

    def keep(module: str):
        def hook(_module, _inputs, output):
            captured[module] = output
            return output.clone()  # a following in-place ReLU must not overwrite r_l

        return hook

    handles = [get_module(net, m).register_forward_hook(keep(m)) for m in modules]
    try:
        x = images.clone().requires_grad_(True)
        with torch.enable_grad():
            loss = torch.nn.functional.cross_entropy(net(x), labels)
            grad_x, *grad_r = torch.autograd.grad(loss, [x, *(captured[m] for m in modules)])
    finally:
        for handle in handles:
            handle.remove()
    numerator = float(grad_x.norm())
    ratios = {}
    for module, grad in zip(modules, grad_r, strict=True):
        denominator = float(grad.norm())
        ratios[module] = numerator / denominator if denominator > 0 else float("nan")
    return ratios


def saved_step_ratios(
    net: torch.nn.Module, layers: dict[str, str], images: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    """:func:`grad_ratios_below` of the declared ``layers`` (display name -> module path) for
    a network in training, as a checkpoint read back would give them: in eval mode, with no
    parameter gradients (its mode and ``requires_grad`` flags are restored after)."""
    was_training = net.training
    wanted = {name: p.requires_grad for name, p in net.named_parameters()}
    net.eval().requires_grad_(False)
    try:
        by_module = grad_ratios_below(net, list(layers.values()), images, labels)
    finally:
        net.train(was_training)
        for name, p in net.named_parameters():
            p.requires_grad_(wanted[name])
    return {layer: by_module[module] for layer, module in layers.items()}
