"""One diagnostics job per training run (model, seed), from the resolved spec its rule passes
(see :meth:`invertibility.planning.diagnostics.DiagnosticsJobs.spec`):

* ``weights``: per saved checkpoint and inverted layer, the normalized frame potential of the
  layer's weight rows (redundancy) and the weight drift from the previous checkpoint, of the
  layer's own parameters and of every parameter up to it;
* ``similarity``: per inverted (layer, t, tp > t), how the layer's representation of the held-out
  pool moved (CKA, biased and debiased; cosine, norm and relative distance), the weight drift
  ``D_l`` and the gradient-norm ratio below the layer (:mod:`invertibility.methods.grad_ratio`,
  measured by the training job at each saved step) averaged over the saved checkpoints from
  ``t`` to ``tp``.

Every network is read for the job's layers alone (a checkpoint may hold no more).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from ..core.atomic import atomic_path
from ..data import image_sets
from ..methods.redundancy import frame_potential
from ..methods.similarity import gram, representation_change
from ..nets.checkpoints import load_network
from ..nets.taps import Tap, get_module, relative_change, weight_drift
from .device import start_job

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
    "cka": "float64",  # linear CKA, the biased (plug-in) estimator
    "cka_debiased": "float64",  # with the unbiased HSIC estimator (features >> images)
    "cosine": "float64",
    "norm_distance": "float64",
    "relative_distance": "float64",
    "drift": "float64",  # D_l from t to tp
    "grad_ratio_below": "float64",
}


def mean_ratio(path: str, spec: dict, index_of: dict) -> Callable[[str, str, str], float]:
    """``ratio_over(layer, t, tp)``: the training's gradient ratio below ``layer`` averaged
    over its saved steps from ``t`` to ``tp`` (a clear error when the table lacks one)."""
    table = pd.read_parquet(path)
    ratio = {(row.layer, row.step): row.grad_ratio_below for row in table.itertuples()}

    def ratio_over(layer: str, t: str, tp: str) -> float:
        steps = [s for s, index in spec["schedule"] if index_of[t] <= index <= index_of[tp]]
        absent = [s for s in steps if (layer, s) not in ratio]
        if absent:
            raise ValueError(
                f"{path} has no gradient ratio for layer {layer!r} at step(s) "
                f"{', '.join(absent)}; delete the training's checkpoint folder and rerun"
            )
        return float(np.mean([ratio[layer, s] for s in steps]))

    return ratio_over


@torch.no_grad()
def pool_representation(
    net: torch.nn.Module, module: str, pool: torch.Tensor, device
) -> torch.Tensor:
    tap = Tap(net, module)
    return torch.cat([tap(chunk.to(device)).cpu() for chunk in pool.split(128)])


def run_diagnostics(
    spec: dict,
    images_path: str,
    gradients_path: str,
    outputs: dict[str, str],
    threads: int = 1,
    jobs_per_gpu: int = 1,
) -> None:
    device = start_job(threads, spec["device"], jobs_per_gpu)
    prepared = image_sets.load(images_path, spec["images_fingerprint"])
    pool = prepared.pool
    layers = spec["layers"]  # display name -> module path
    modules = list(dict.fromkeys(layers.values()))
    networks: dict[str, torch.nn.Module] = {}

    def read(step: str) -> torch.nn.Module:
        return load_network(spec["network"], spec["checkpoints"][step], layers=modules)

    def network(step: str) -> torch.nn.Module:
        if step not in networks:
            networks[step] = read(step).to(device)
        return networks[step]

    weights, previous = [], None
    for step, index in spec["schedule"]:  # one network in memory at a time (and the last's)
        net = read(step)
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
    ratio_over = mean_ratio(gradients_path, spec, index_of)

    similarity = []
    for layer, pairs in itertools.groupby(sorted(spec["pairs"]), key=lambda pair: pair[0]):
        module = layers[layer]
        represented: dict[str, torch.Tensor] = {}  # this layer's, by step
        grams: dict[str, torch.Tensor] = {}  # their Grams: one product per step, not per pair
        for _, t, tp in pairs:
            for step in (t, tp):
                if step not in represented:
                    represented[step] = pool_representation(network(step), module, pool, device)
                    grams[step] = gram(represented[step])
            similarity.append(
                {
                    "model": spec["model"],
                    "seed": spec["seed"],
                    "layer": layer,
                    "t": t,
                    "tp": tp,
                    "p": index_of[tp] - index_of[t],
                    **representation_change(represented[t], represented[tp], (grams[t], grams[tp])),
                    "drift": weight_drift(network(t), network(tp), module),
                    "grad_ratio_below": ratio_over(layer, t, tp),
                }
            )

    for key, rows, columns in (
        ("weights", weights, WEIGHT_COLUMNS),
        ("similarity", similarity, SIMILARITY_COLUMNS),
    ):
        with atomic_path(outputs[key]) as tmp:
            pd.DataFrame(rows, columns=list(columns)).astype(columns).to_parquet(tmp, index=False)
