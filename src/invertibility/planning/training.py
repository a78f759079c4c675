"""Training jobs: one per (model, seed), saving the model's checkpoint schedule."""

from __future__ import annotations

from ..core import paths


class TrainingJobs:
    def __init__(self, plan):
        self.plan = plan

    def spec(self, model: str, seed: int) -> dict:
        """Everything that determines a run's checkpoints: the model's own config entry, its
        dataset and the seed, never a figure, grid or claim."""
        plan = self.plan
        train = plan.models[model]["train"]
        last = max(plan.step_index(model, s) for s in plan.schedule(model))
        if train.get("train_to_end"):
            last = train["epochs"] * plan.per_epoch(model)
        return {
            "model": model,
            "network": plan.network_spec(model),
            "dataset": plan.dataset_for(model, seed),
            "train": {**train, "seed": seed},
            "schedule": [
                (s, plan.step_index(model, s), paths.checkpoint(model, seed, s))
                for s in plan.schedule(model)
            ],
            # what each checkpoint holds: the whole network at these steps, at the others the
            # tensors its layers depend on (whose gradient ratios training measures, too)
            "layers": plan.models[model]["layers"],
            "whole_steps": plan.models[model]["whole_steps"],
            "iterations_per_epoch": plan.per_epoch(model),
            "last_step": last,
            "device": plan.config["device"],
        }

    def tables(self) -> list[str]:
        """Every run's training curve: one per (model, seed)."""
        return [paths.training_table(model, seed) for model, seed in self.plan.runs()]
