"""Figure jobs: one per ``figures`` entry, drawn by its kind (:mod:`invertibility.figures`)."""

from __future__ import annotations

from .inversions import InversionJob


class FigureJobs:
    def __init__(self, plan):
        self.plan = plan

    def names(self, kind: str | None = None) -> list[str]:
        """The figures (of ``kind``, or all)."""
        figures = self.plan.config["figures"]
        return [name for name, entry in figures.items() if kind in (None, entry["kind"])]

    def inversion_jobs(self, figure: str) -> list[InversionJob]:
        """The inverted steps a figure's panels show (each panel's seed, by default the model's
        first)."""
        jobs = []
        for panel in self.plan.config["figures"][figure]["panels"]:
            seed = panel.get("seed", self.plan.seeds(panel["model"])[0])
            for layer in panel["layers"]:
                jobs += [
                    InversionJob(panel["model"], seed, layer, panel["function"], tp)
                    for tp in panel["activations"]
                ]
        return jobs
