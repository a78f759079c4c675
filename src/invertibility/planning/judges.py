"""Label-judge jobs: one per dataset with an ``analyses.label_judges`` entry and an inverted
model, classifying every reconstruction of that dataset's models."""

from __future__ import annotations

from ..core import paths


class JudgeJobs:
    def __init__(self, plan):
        self.plan = plan

    def datasets(self) -> list[str]:
        """The datasets with a label judge and an inverted model."""
        plan = self.plan
        judged = plan.analyses["label_judges"]
        inverted = {plan.models[j.model]["dataset"] for j in plan.inversions.all}
        return sorted(inverted & set(judged))

    def inversions(self, dataset: str) -> list[str]:
        """The inversion files and chunk folders of the models on ``dataset``."""
        plan = self.plan
        jobs = [j for j in plan.inversions.all if plan.models[j.model]["dataset"] == dataset]
        return plan.inversions.targets(jobs)

    def spec(self, dataset: str) -> dict:
        plan = self.plan
        judge = plan.analyses["label_judges"][dataset]
        return {
            **judge,
            "dataset": dataset,
            "network": plan.network_spec(judge["model"]),
            "checkpoint": paths.checkpoint(judge["model"], judge["seed"], judge["step"]),
            "mean": plan.config["datasets"][dataset]["mean"],
            "std": plan.config["datasets"][dataset]["std"],
            "device": plan.config["device"],
        }
