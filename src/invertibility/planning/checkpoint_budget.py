"""What a config's trainings write to disk: per model, the checkpoints its schedule saves per
seed and their size, from the plan and the networks' parameter counts alone (nothing trained)."""

from __future__ import annotations

import pandas as pd

BYTES_PER_VALUE = 4  # float32, as the checkpoints store every tensor


def checkpoint_bytes(network: dict) -> int:
    """Bytes of one checkpoint of ``network`` (``build_model``'s keyword arguments): every tensor
    of its state (parameters and buffers), built on the meta device (no memory, no init)."""
    from ..nets.models import network_on_meta

    state = network_on_meta(**network).state_dict()
    return BYTES_PER_VALUE * sum(tensor.numel() for tensor in state.values())


def checkpoint_budget(plan) -> pd.DataFrame:
    """One row per trained model: its seeds, the checkpoints each training saves, one
    checkpoint's size, and the disk of one seed and of every seed."""
    rows = []
    for model in plan.models:
        seeds = plan.models[model]["seeds"]
        if not seeds:
            continue
        steps = len(plan.schedule(model))
        size = checkpoint_bytes(plan.network_spec(model))
        rows.append(
            {
                "model": model,
                "seeds": len(seeds),
                "checkpoints_per_seed": steps,
                "mb_per_checkpoint": size / 1e6,
                "gb_per_seed": steps * size / 1e9,
                "gb_all_seeds": len(seeds) * steps * size / 1e9,
            }
        )
    return pd.DataFrame(rows)
