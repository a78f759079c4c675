"""One diagnostics job per training run (model, seed), from the resolved spec its rule passes
(see :meth:`invertibility.planning.diagnostics.DiagnosticsJobs.spec`):

* ``weights``: per saved checkpoint and inverted layer, the normalized frame potential of the
  layer's weight rows (redundancy) and the weight drift from the previous checkpoint, of the
  layer's own parameters and of every parameter up to it;
* ``similarity``: per inverted (layer, t, tp > t), how the layer's representation of the held-out
  pool moved (CKA, biased and debiased; cosine, norm and relative distance), the weight drift
  ``D_l`` and the gradient-norm ratio below the layer, ``||dL/dx|| / ||dL/dr_l||`` measured end
  to end in one backward pass (cross-entropy on the first ``GRAD_IMAGES`` held-out images,
  Frobenius norms over that batch), averaged over the saved checkpoints from ``t`` to ``tp``.
  Measured end to end, it includes everything between the input and ``r_l`` (ReLUs and pools
  between blocks too), which a product of per-block ratios misses.
"""

from __future__ import annotations

import itertools

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


@torch.no_grad()
def pool_representation(
    net: torch.nn.Module, module: str, pool: torch.Tensor, device
) -> torch.Tensor:
    tap = Tap(net, module)
    return torch.cat([tap(chunk.to(device)).cpu() for chunk in pool.split(128)])


def run_diagnostics(
    spec: dict,
    images_path: str,
    outputs: dict[str, str],
    threads: int = 1,
    jobs_per_gpu: int = 1,
) -> None:
    device = start_job(threads, spec["device"], jobs_per_gpu)
    prepared = image_sets.load(images_path, spec["images_fingerprint"])
    pool = prepared.pool
    batch = pool[:GRAD_IMAGES].to(device), prepared.pool_labels[:GRAD_IMAGES].to(device)
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
    ratios: dict[str, dict[str, float]] = {}  # gradient ratio by saved step, then module

    def ratio_at(module: str, step: str) -> float:
        if step not in ratios:  # every layer of the job at once: one backward pass
            ratios[step] = grad_ratios_below(network(step), list(layers.values()), *batch)
        return ratios[step][module]

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
                    "grad_ratio_below": float(
                        np.mean(
                            [
                                ratio_at(module, step)
                                for step, index in spec["schedule"]
                                if index_of[t] <= index <= index_of[tp]
                            ]
                        )
                    ),
                }
            )

    for key, rows, columns in (
        ("weights", weights, WEIGHT_COLUMNS),
        ("similarity", similarity, SIMILARITY_COLUMNS),
    ):
        with atomic_path(outputs[key]) as tmp:
            pd.DataFrame(rows, columns=list(columns)).astype(columns).to_parquet(tmp, index=False)
