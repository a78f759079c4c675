"""Diagnostics jobs (redundancy, weight drift, representation change): one per training run
with an inverted (layer, t, tp > t)."""

from __future__ import annotations

import functools

from ..core import paths
from ..core.vocabulary import CONTROLS


class DiagnosticsJobs:
    def __init__(self, plan):
        self.plan = plan

    @functools.cached_property
    def _pairs(self) -> dict[tuple[str, int], set[tuple[str, str, str]]]:
        """(model, seed) -> the (layer, t, tp > t) that figures and grids invert."""
        pairs: dict[tuple[str, int], set[tuple[str, str, str]]] = {}
        for job in self.plan.inversions.all:
            if job.tp in CONTROLS or job.tp == job.t:
                continue
            pairs.setdefault((job.model, job.seed), set()).add((job.layer, job.t, job.tp))
        return pairs

    def runs(self) -> list[tuple[str, int]]:
        """The training runs with a diagnostics job: those with an inverted (layer, t, tp > t)."""
        return sorted(self._pairs)

    def spec(self, model: str, seed: int) -> dict:
        plan = self.plan
        pairs = sorted(self._pairs[model, seed])
        modules = plan.models[model]["layers"]
        return {
            "model": model,
            "seed": seed,
            "network": plan.network_spec(model),
            "layers": {layer: modules[layer] for layer in sorted({p[0] for p in pairs})},
            "pairs": [list(pair) for pair in pairs],
            "schedule": [(s, plan.step_index(model, s)) for s in plan.schedule(model)],
            "checkpoints": {s: paths.checkpoint(model, seed, s) for s in plan.schedule(model)},
            "images_fingerprint": plan.images_fingerprint(model),
            "device": plan.config["device"],
        }

    def tables(self, table: str) -> list[str]:
        """The diagnostics jobs' ``weights`` or ``similarity`` tables, one per training run."""
        return [paths.diagnostics(m, seed, table) for m, seed in self.runs()]

    def block_tables(self) -> list[str]:
        """The per-block training diagnostics (written by training), one per training run."""
        return [paths.block_diagnostics(m, seed) for m, seed in self.plan.runs()]
