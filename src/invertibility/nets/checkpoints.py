"""Checkpoints as safetensors: loading never executes code, writing is atomic.

A checkpoint holds the whole network, or only the tensors its model's declared layers depend on
(:mod:`.scope`): its ``scope`` metadata says which. A network loaded for a use the checkpoint
does not cover fails with an error naming the step and the missing tensors; the modules whose
tensors a loaded checkpoint lacks are replaced by :class:`NotInCheckpoint`, which raises if the
forward pass ever reaches it, never by a randomly initialized module."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ..core.atomic import atomic_path
from ..core.errors import CheckpointError


def save_checkpoint(
    model: nn.Module, path: str | Path, metadata: dict[str, str], keys: set[str] | None = None
) -> None:
    """Write ``model``'s state (only its ``keys``, when given; the metadata's ``scope`` should
    say which layers they serve) with ``metadata``."""
    state = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in model.state_dict().items()
        if keys is None or name in keys
    }
    # one metadata key: safetensors writes a map's keys in random order, breaking byte equality
    header = {"invertibility": json.dumps(metadata, sort_keys=True, default=str)}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=header)


def checkpoint_metadata(path: str | Path) -> dict:
    with safe_open(str(path), "pt") as handle:
        return json.loads((handle.metadata() or {}).get("invertibility", "{}"))


def load_state(
    path: str | Path, needed: Iterable[str] = (), use: str = "this use"
) -> dict[str, torch.Tensor]:
    """The tensors of the checkpoint at ``path``; a clear error when it lacks any of ``needed``
    (a checkpoint saved for fewer layers than ``use`` reads), named in ``needed``'s order."""
    state = _read(Path(path))
    missing = [key for key in needed if key not in state]
    if missing:
        metadata = checkpoint_metadata(path)
        if metadata.get("scope", "whole") == "whole":  # a whole network of another shape
            _fit_error(path, f"it lacks {', '.join(missing[:4])}")
        shown = ", ".join(missing[:4]) + (
            f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        )
        raise CheckpointError(
            f"checkpoint {str(path)!r} (step {metadata.get('step', '?')}) holds the tensors of "
            f"{_scope_words(metadata)} only; {use} also needs {shown}. A model entry saves its "
            f"whole network at its classifier step and at the steps in its 'whole' list, and "
            f"the tensors of its declared 'layers' at the others: add the step to "
            f"models.{metadata.get('model', '<model>')}.whole, or the layer to its layers "
            f"(either retrains the model)"
        )
    return state


def _scope_words(metadata: dict) -> str:
    scope = metadata.get("scope", "whole")
    return "the whole network" if scope == "whole" else f"the layers {scope}"


def _read(path: Path) -> dict[str, torch.Tensor]:
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
    return _fit(model, load_state(path), path, assign)


def _fit(model: nn.Module, state: dict, path: str | Path, assign: bool, strict: bool = True):
    try:
        unexpected = model.load_state_dict(state, strict=strict, assign=assign).unexpected_keys
        if unexpected:
            raise RuntimeError(f"unexpected tensors {', '.join(unexpected[:4])}")
    except RuntimeError as error:
        _fit_error(path, error)
    return model.eval()


def _fit_error(path: str | Path, why) -> None:
    raise CheckpointError(
        f"checkpoint {str(path)!r} does not fit the model in the config ({why}); was the "
        f"config changed? Delete {str(Path(path).parent)!r} so that the model is retrained"
    )


def load_network(
    network: dict, path: str | Path, mode: str = "eval", layers: list[str] | None = None
) -> nn.Module:
    """The network ``network`` (keyword arguments of ``build_model``) with the weights of the
    checkpoint at ``path``, its parameters frozen, without a random init first: whole, or
    (with ``layers``, module paths) enough of it to compute those layers' outputs, the modules
    past them replaced by :class:`NotInCheckpoint`. In eval mode (default) batch norm
    normalizes with the checkpoint's own running statistics, so each image's output is
    independent of the others in its batch."""
    from .models import network_on_meta
    from .scope import tensors_of

    use = "the whole network" if layers is None else f"the layers {', '.join(layers)}"
    model = network_on_meta(**network)
    needed = tensors_of(model, layers, network["input_shape"])  # traced on the same meta build
    in_order = [key for key in model.state_dict() if key in needed]  # input side first
    state = load_state(path, in_order, f"reading {use}")
    model = _fit(model, state, path, assign=True, strict=False)
    absent = set(model.state_dict()) - set(state)
    if absent:
        _stub(model, absent, f"checkpoint {str(path)!r} was read for {use}")
    # a module that keeps part of its tensors (module order and call order disagreeing, in an
    # architecture of the future) would be neither loaded nor a stand-in: say so here
    unloaded = [name for name, tensor in model.state_dict(keep_vars=True).items() if tensor.is_meta]
    if unloaded:
        raise CheckpointError(
            f"checkpoint {str(path)!r} read for {use} leaves {', '.join(unloaded[:4])} without "
            f"values: their modules are partly in it; read it whole"
        )
    return model.train(mode == "train").requires_grad_(False)


class NotInCheckpoint(nn.Module):
    """Stands in for a module whose tensors the checkpoint read does not hold: the forward
    pass never reaches it when it stops at the layers read (``Tap``); if it does, it fails."""

    def __init__(self, name: str, why: str):
        super().__init__()
        self.name, self.why = name, why

    def forward(self, *_args, **_kwargs):
        raise CheckpointError(
            f"module {self.name!r} has no weights here: {self.why}, and this forward pass goes "
            f"past them (read the checkpoint whole for it)"
        )


def _stub(model: nn.Module, absent: set[str], why: str) -> None:
    """Replace each outermost module all of whose tensors are ``absent`` (and which has some)."""
    replaced: list[str] = []
    for name, module in list(model.named_modules()):
        if not name or any(name.startswith(outer + ".") for outer in replaced):
            continue
        keys = {f"{name}.{key}" for key in module.state_dict(keep_vars=True)}
        if keys and keys <= absent:
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, NotInCheckpoint(name, why))
            replaced.append(name)
