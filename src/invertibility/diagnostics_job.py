"""One diagnostics job per training run (model, seed), from the resolved spec its rule passes
(see :meth:`invertibility.plan.Plan.diagnostics_spec`):

* ``weights``: per saved checkpoint and inverted layer, the normalized frame potential of the
  layer's weight rows (redundancy) and the weight drift from the previous checkpoint, of the
  layer's own parameters and of every parameter up to it;
* ``similarity``: per inverted (layer, t, tp > t), how the layer's representation of the held-out
  pool moved (CKA, cosine, norm and relative distance), the weight drift ``D_l`` and the
  gradient-norm ratio below the layer during training (the product of the block ratios of the
  blocks up to ``l``, averaged over the probed steps from ``t`` to ``tp``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch

from . import image_sets
from .atomic import atomic_path
from .block_probe import diagnostic_blocks
from .checkpoints import load_network
from .device import choose_device, set_threads
from .models import blocks_up_to
from .redundancy import frame_potential, relative_change, weight_drift
from .similarity import representation_change
from .taps import Tap, get_module

WEIGHT_COLUMNS = {
    "model": "string",
    "seed": "int64",
    "step": "string",
    "index": "int64",  # optimizer steps
    "layer": "string",
    "frame_potential": "float64",  # >= 1; NaN for a layer without a weight matrix of its own
    "drift_own": "float64",  # ||theta_l(step) - theta_l(previous)|| / ||theta_l(previous)||
    "drift_up_to": "float64",  # the same over every parameter r_l depends on
}
SIMILARITY_COLUMNS = {
    "model": "string",
    "seed": "int64",
    "layer": "string",
    "t": "string",
    "tp": "string",
    "p": "int64",
    "cka": "float64",
    "cosine": "float64",
    "norm_distance": "float64",
    "relative_distance": "float64",
    "drift": "float64",  # D_l from t to tp
    "grad_ratio_below": "float64",
}


def grad_ratio_below(blocks: pd.DataFrame, below: list[str], start: int, stop: int) -> float:
    """Mean over the probed steps in ``[start, stop]`` of the product of the ``below`` blocks'
    gradient-norm ratios (``||dL/d input|| / ||dL/d r_l||`` across those blocks)."""
    rows = blocks[blocks["block"].isin(below) & blocks["step"].between(start, stop)]
    if rows.empty or not below:
        return float("nan")
    product = rows.groupby("step")["grad_ratio"].prod(min_count=len(below))
    return float(product.mean())


@torch.no_grad()
def pool_representation(
    net: torch.nn.Module, module: str, pool: torch.Tensor, device
) -> torch.Tensor:
    tap = Tap(net, module)
    return torch.cat([tap(chunk.to(device)).cpu() for chunk in pool.split(128)])


def run_diagnostics(
    spec: dict, images_path: str, blocks_path: str, outputs: dict[str, str], threads: int = 1
) -> None:
    set_threads(threads)
    device = choose_device(spec["device"])
    pool = image_sets.load(images_path, spec["images_fingerprint"]).pool
    blocks = pd.read_parquet(blocks_path)
    layers = spec["layers"]  # display name -> module path
    networks: dict[str, torch.nn.Module] = {}

    def network(step: str) -> torch.nn.Module:
        if step not in networks:
            networks[step] = load_network(spec["network"], spec["checkpoints"][step]).to(device)
        return networks[step]

    weights, previous = [], None
    for step, index in spec["schedule"]:  # one network in memory at a time (and the last's)
        net = load_network(spec["network"], spec["checkpoints"][step])
        for layer, module in layers.items():
            weight = getattr(get_module(net, module), "weight", None)
            row = {
                "model": spec["model"],
                "seed": spec["seed"],
                "step": step,
                "index": index,
                "layer": layer,
                "frame_potential": frame_potential(weight)
                if isinstance(weight, torch.Tensor) and weight.dim() >= 2
                else np.nan,
            }
            if previous is not None:
                row["drift_own"] = relative_change(
                    list(get_module(previous, module).parameters()),
                    list(get_module(net, module).parameters()),
                )
                row["drift_up_to"] = weight_drift(previous, net, module)
            weights.append(row)
        previous = net

    index_of = dict(spec["schedule"])
    block_names = diagnostic_blocks(net)
    similarity = []
    for layer, pairs in itertools.groupby(sorted(spec["pairs"]), key=lambda pair: pair[0]):
        module = layers[layer]
        below = blocks_up_to(net, module, block_names)
        represented: dict[str, torch.Tensor] = {}  # this layer's, by step
        for _, t, tp in pairs:
            for step in (t, tp):
                if step not in represented:
                    represented[step] = pool_representation(network(step), module, pool, device)
            similarity.append(
                {
                    "model": spec["model"],
                    "seed": spec["seed"],
                    "layer": layer,
                    "t": t,
                    "tp": tp,
                    "p": index_of[tp] - index_of[t],
                    **representation_change(represented[t], represented[tp]),
                    "drift": weight_drift(network(t), network(tp), module),
                    "grad_ratio_below": grad_ratio_below(blocks, below, index_of[t], index_of[tp]),
                }
            )

    for key, rows, columns in (
        ("weights", weights, WEIGHT_COLUMNS),
        ("similarity", similarity, SIMILARITY_COLUMNS),
    ):
        with atomic_path(outputs[key]) as tmp:
            pd.DataFrame(rows, columns=list(columns)).astype(columns).to_parquet(tmp, index=False)
