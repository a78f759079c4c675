"""What a config's trainings write to disk: per model, the checkpoints its schedule saves per
seed and their size, from the plan and the networks' tensor shapes alone (nothing trained).
A checkpoint holds the whole network at the model's whole steps, and the tensors its declared
layers depend on at the others (:mod:`invertibility.nets.scope`)."""

from __future__ import annotations

import pandas as pd

BYTES_PER_VALUE = 4  # float32, as the checkpoints store every tensor


def checkpoint_bytes(network: dict, layers: list[str] | None = None) -> int:
    """Bytes of one checkpoint of ``network`` (``build_model``'s keyword arguments): every tensor
    of its state (parameters and buffers), or those the module paths ``layers`` depend on;
    built on the meta device (no memory, no init)."""
    from ..nets.models import network_on_meta
    from ..nets.scope import tensors_of

    model = network_on_meta(**network)
    state = model.state_dict()
    kept = tensors_of(model, layers, network["input_shape"])
    return BYTES_PER_VALUE * sum(state[key].numel() for key in kept)


def checkpoint_budget(plan) -> pd.DataFrame:
    """One row per trained model: its seeds, the checkpoints each training saves (and how many
    of them whole), the size of a whole and of a layers-only checkpoint, and the disk of one
    seed and of every seed."""
    rows = []
    for model in plan.models:
        seeds = plan.models[model]["seeds"]
        if not seeds:
            continue
        steps = len(plan.schedule(model))
        whole = len(set(plan.models[model]["whole_steps"]))
        network = plan.network_spec(model)
        whole_size = checkpoint_bytes(network)
        layers_size = checkpoint_bytes(network, list(plan.models[model]["layers"].values()))
        per_seed = whole * whole_size + (steps - whole) * layers_size
        rows.append(
            {
                "model": model,
                "seeds": len(seeds),
                "checkpoints_per_seed": steps,
                "whole_per_seed": whole,
                "mb_whole": whole_size / 1e6,
                "mb_layers": layers_size / 1e6,
                "gb_per_seed": per_seed / 1e9,
                "gb_all_seeds": len(seeds) * per_seed / 1e9,
            }
        )
    return pd.DataFrame(rows)
