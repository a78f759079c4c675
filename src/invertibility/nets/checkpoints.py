"""Checkpoints as safetensors: loading never executes code, writing is atomic."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..core.atomic import atomic_path
from ..core.errors import CheckpointError


def save_checkpoint(model: nn.Module, path: str | Path, metadata: dict[str, str]) -> None:
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
    }
    # one metadata key: safetensors writes a map's keys in random order, breaking byte equality
    header = {"invertibility": json.dumps(metadata, sort_keys=True, default=str)}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=header)


def load_state(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {str(path)!r} does not exist; delete its folder {str(path.parent)!r} "
            f"and rerun, so that Snakemake retrains that model"
        )
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt or truncated ({error}); delete its folder "
            f"{str(path.parent)!r} and rerun, so that Snakemake retrains that model"
        ) from error


def load_checkpoint(model: nn.Module, path: str | Path, assign: bool = False) -> nn.Module:
    """Load weights into ``model`` (built with the same config) and put it in eval mode;
    ``assign`` takes the loaded tensors as they are (for a model built on the meta device)."""
    state = load_state(path)
    try:
        model.load_state_dict(state, assign=assign)
    except RuntimeError as error:
        raise CheckpointError(
            f"checkpoint {str(path)!r} does not fit the model in the config ({error}); was the "
            f"config changed? Delete {str(Path(path).parent)!r} so that the model is retrained"
        ) from error
    return model.eval()


def load_network(network: dict, path: str | Path, mode: str = "eval") -> nn.Module:
    """The network ``network`` (keyword arguments of ``build_model``) with the weights of the
    checkpoint at ``path``, its parameters frozen, without a random init first. In eval mode
    (default) batch norm normalizes with the checkpoint's own running statistics, so each
    image's output is independent of the others in its batch."""
    from .models import network_on_meta

    model = load_checkpoint(network_on_meta(**network), path, assign=True)
    return model.train(mode == "train").requires_grad_(False)
