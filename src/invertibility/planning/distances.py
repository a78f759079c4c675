"""Norm-distance jobs: one per ``analyses.distances`` entry (model, layer) and seed."""

from __future__ import annotations

from ..core import paths
from ..core.vocabulary import CONTROLS


class DistanceJobs:
    def __init__(self, plan):
        self.plan = plan

    def jobs(self) -> list[tuple[str, int, str]]:
        """(model, seed, layer) of every norm-distance table: each analyses.distances entry, for
        every seed whose inversions of that layer exist."""
        jobs = []
        for entry in self.plan.analyses["distances"]:
            model, layer = entry["model"], entry["layer"]
            inverted = self.plan.inversions.all
            seeds = sorted({j.seed for j in inverted if (j.model, j.layer) == (model, layer)})
            jobs += [(model, seed, layer) for seed in seeds]
        return jobs

    def steps(self, model: str, seed: int, layer: str) -> dict[str, list[str]]:
        """Function step -> activation steps inverted for (model, seed, layer), in step order."""
        steps: dict[str, set[str]] = {}
        for job in self.plan.inversions.all:
            if (job.model, job.seed, job.layer) == (model, seed, layer) and job.tp not in CONTROLS:
                steps.setdefault(job.t, set()).add(job.tp)

        def order(step: str) -> int:
            return self.plan.step_index(model, step)

        return {t: sorted(steps[t], key=order) for t in sorted(steps, key=order)}

    def spec(self, model: str, seed: int, layer: str) -> dict:
        plan = self.plan
        steps = self.steps(model, seed, layer)
        needed = {s for t, tps in steps.items() for s in (t, *tps)}
        return {
            "model": model,
            "seed": seed,
            "layer": layer,
            "module": plan.models[model]["layers"][layer],
            "network": plan.network_spec(model),
            "steps": steps,
            "checkpoints": {
                s: paths.checkpoint(model, seed, s)
                for s in sorted(needed, key=lambda s: plan.step_index(model, s))
            },
            "images_fingerprint": plan.images_fingerprint(model),
            "device": plan.config["device"],
        }

    def tables(self) -> list[str]:
        return [paths.norm_distances(m, seed, layer) for m, seed, layer in self.jobs()]
