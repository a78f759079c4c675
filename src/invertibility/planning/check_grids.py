"""Config checks of what is inverted: figure panels and ``analyses.grids`` (models, layers,
steps on the schedule, image indices), each figure kind's own entry."""

from __future__ import annotations

import functools

from ..core.errors import ConfigError, DataError
from ..data import datasets
from ..figures import KINDS as FIGURE_KINDS
from .check_models import ModelChecks


class GridChecks(ModelChecks):
    def check_grid(self, where: str, entry: dict, t_key: str = "function", tps_key="activations"):
        model = entry["model"]
        self.known_model(model, where)
        seeds = self.models[model]["seeds"]
        wanted = [*entry.get("seeds", []), *([entry["seed"]] if "seed" in entry else [])]
        unknown = [seed for seed in wanted if seed not in seeds]
        if unknown:
            raise ConfigError(
                f"{where}.seeds: model {model!r} is not trained with seed(s) {unknown}; its "
                f"seeds (models.{model}.seeds): {seeds}"
            )
        for layer in entry["layers"]:
            self.known_layer(model, layer, f"{where}.layers")
        t_index = self.on_schedule(model, entry[t_key], f"{where}.{t_key}")
        for tp in entry.get(tps_key) or []:
            if self.on_schedule(model, tp, f"{where}.{tps_key}") < t_index:
                raise ConfigError(
                    f"{where}.{tps_key}: activation step {tp} comes before the function step "
                    f"{entry[t_key]}; activation steps must be at or after the function step"
                )

    @functools.cache  # noqa: B019 (asked once per figure panel)
    def n_images(self, model: str) -> int:
        selection = self.models[model]["images"]
        try:
            counts = datasets.holdout_counts(self.dataset(model))
        except DataError as error:
            raise ConfigError(f"datasets.{self.models[model]['dataset']}.{error}") from None
        held = sum(min(n, selection["per_class"]) for n in counts.values())
        return held + len(selection.get("photos", []))

    def check_figures(self) -> None:
        for name, figure in self.config["figures"].items():
            where = f"figures.{name}"
            kind = FIGURE_KINDS[figure["kind"]]
            if kind.panels and not figure.get("panels"):
                raise ConfigError(f"{where}: a figure of kind {kind.name} needs 'panels'")
            if not kind.panels and "panels" in figure:
                raise ConfigError(f"{where}: a figure of kind {kind.name} takes no 'panels'")
            for model in figure.get("models", []):
                self.known_model(model, f"{where}.models")
            if kind.check:
                kind.check(figure, where, self)  # what only this kind asks of its entry
            for i, panel in enumerate(figure.get("panels", [])):
                self.check_grid(f"{where}.panels[{i}]", panel)
                n_images = self.n_images(panel["model"])
                for index in panel.get("images", []):
                    if index >= n_images:
                        raise ConfigError(
                            f"{where}.panels[{i}].images: image index {index} out of range; "
                            f"model {panel['model']!r} inverts {n_images} images "
                            f"(0..{n_images - 1})"
                        )

    def inverted(self) -> set[tuple[str, str, str, str]]:
        """(model, layer, t, tp) of every inversion the figures and grids ask for."""
        return {
            (model, layer, t, tp)
            for model, _, layers, t, tps in grids(self.config)
            for layer in layers
            for tp in tps
        }

    def gridded_seeds(self, model: str, t: str) -> set[int]:
        return {
            seed
            for m, seeds, _, function, _ in grids(self.config)
            if m == model and function == t
            for seed in seeds
        }


def grids(config: dict):
    """Every (model, seeds, layers, function step, activation steps) that figure panels and
    ``analyses.grids`` ask to invert (activation ranges expanded once resolved). A figure panel
    inverts one training seed (its ``seed``, default the model's first); a grid every seed of
    the model unless it names ``seeds``."""
    for figure in config["figures"].values():
        for panel in figure.get("panels", []):
            seeds = [panel["seed"]]
            yield panel["model"], seeds, panel["layers"], panel["function"], panel["activations"]
    for grid in config["analyses"]["grids"]:
        seeds = grid.get("seeds") or config["models"][grid["model"]]["seeds"]
        yield grid["model"], seeds, grid["layers"], grid["function"], grid["activations"]
