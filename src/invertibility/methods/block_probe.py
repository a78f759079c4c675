"""Per-block quantities during training (norm preservation and smooth propagation).

A *block* is a unit the signal passes through in order: ResNet's stem convolution and its eight
basic blocks; for other networks every convolution and linear map. At a probed step, for each
block ``b`` with input ``y_b`` and output ``y_{b+1}``:

* ``grad_in``, ``grad_out``: ``||dL/dy_b||`` and ``||dL/dy_{b+1}||`` (Frobenius, over the
  mini-batch), and ``grad_ratio = grad_in / grad_out``: 1 where a block preserves the gradient
  norm (Zaeemzadeh et al.: residual blocks do, plain ones need not);
* ``feature_norm``: the mean over the batch of ``||y_{b+1}||`` per image;
* ``residual_step``: the mean over the batch of ``||y_{b+1} - y_b|| / ||y_b||`` (how far one block
  moves the representation: small for ``y_{b+1} = y_b + h F(y_b)`` with small ``h``); NaN where
  the block changes the shape.

Hooks are attached only for a probed step, so the other steps run exactly as without them.
"""

from __future__ import annotations

import torch
from torch import nn

BLOCK_COLUMNS = {
    "model": "string",
    "seed": "int64",
    "step": "int64",  # optimizer steps taken: the weights of checkpoint index `step`
    "block": "string",  # module path
    "block_index": "int64",  # position along the forward pass (0 = nearest the input)
    "feature_norm": "float64",
    "residual_step": "float64",
    "grad_in": "float64",
    "grad_out": "float64",
    "grad_ratio": "float64",
}


def diagnostic_blocks(model: nn.Module) -> list[str]:
    """The module paths of the blocks, in forward order: the network's own
    ``diagnostic_blocks`` (each family names them), else its convolutions and linear layers."""
    if hasattr(model, "diagnostic_blocks"):
        return model.diagnostic_blocks()
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def _per_image_norm(x: torch.Tensor) -> torch.Tensor:
    return x.detach().flatten(1).double().norm(dim=1)


class BlockProbe:
    """``with BlockProbe(model) as probe:`` one forward and backward pass; then
    ``probe.rows()`` gives one dict per block."""

    def __init__(self, model: nn.Module):
        self.modules = dict(model.named_modules())
        self.blocks = diagnostic_blocks(model)
        self.values: dict[str, dict[str, float]] = {}
        self.handles: list = []

    def __enter__(self) -> BlockProbe:
        for name in self.blocks:
            module = self.modules[name]
            self.handles.append(module.register_forward_pre_hook(self._pre(name)))
            self.handles.append(module.register_forward_hook(self._post(name)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def _record(self, name: str, key: str):
        def hook(grad: torch.Tensor) -> None:
            self.values[name][key] = float(grad.detach().double().norm())

        return hook

    def _pre(self, name: str):
        def hook(_module, args):
            x = args[0]
            if not x.requires_grad:  # the image: make it a leaf so dL/dx is computed
                x = x.detach().requires_grad_(True)
            x.register_hook(self._record(name, "grad_in"))
            self.values[name] = {"_input": x.detach().clone()}
            # the block gets a copy: an in-place op on it cannot touch the measured tensor
            return (x.clone(), *args[1:])

        return hook

    def _post(self, name: str):
        def hook(_module, _args, output):
            output.register_hook(self._record(name, "grad_out"))
            record = self.values[name]
            x = record.pop("_input")
            record["feature_norm"] = float(_per_image_norm(output).mean())
            if x.shape == output.shape:
                moved = _per_image_norm(output - x) / _per_image_norm(x).clamp_min(1e-12)
                record["residual_step"] = float(moved.mean())
            else:
                record["residual_step"] = float("nan")
            return output.clone()  # later in-place ops (ReLU) change the copy only

        return hook

    def rows(self) -> list[dict]:
        out = []
        for index, name in enumerate(self.blocks):
            record = self.values.get(name, {})
            grad_in = record.get("grad_in", float("nan"))
            grad_out = record.get("grad_out", float("nan"))
            out.append(
                {
                    "block": name,
                    "block_index": index,
                    "feature_norm": record.get("feature_norm", float("nan")),
                    "residual_step": record.get("residual_step", float("nan")),
                    "grad_in": grad_in,
                    "grad_out": grad_out,
                    "grad_ratio": grad_in / grad_out if grad_out > 0 else float("nan"),
                }
            )
        self.values.clear()
        return out
