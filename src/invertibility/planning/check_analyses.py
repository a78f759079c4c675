"""Config checks of ``analyses``: norm distances, claims (each kind checks its own entry; every
side inverted for each of its seeds), label judges and the controls."""

from __future__ import annotations

from ..core.errors import ConfigError, DataError
from ..data import datasets
from .check_grids import GridChecks, grids
from .resolve import claim_sides


class AnalysesChecks(GridChecks):
    def check_controls(self) -> None:
        """The image pool must hold the other-image partners and identification candidates;
        the cross-seed floor needs two seeds of every model that is inverted."""
        analyses = self.config["analyses"]
        for model in sorted({model for model, *_ in grids(self.config)}):
            dataset = self.models[model]["dataset"]
            try:
                counts = datasets.holdout_counts(self.dataset(model))
            except DataError as error:
                raise ConfigError(f"datasets.{dataset}.{error}") from None
            pool = sum(counts.values())
            if analyses["candidates"] > pool:
                raise ConfigError(
                    f"analyses.candidates: {analyses['candidates']} identification candidates, "
                    f"but the held-out pool of dataset {dataset!r} (model {model!r}) holds "
                    f"{pool} images; lower it or hold out more images"
                )
            fewest_others = pool - max(counts.values())
            if analyses["partners"] > fewest_others:
                raise ConfigError(
                    f"analyses.partners: {analyses['partners']} other-image partners per image, "
                    f"but dataset {dataset!r} holds only {fewest_others} held-out images of "
                    f"another class for some class"
                )
            seeds = self.models[model]["seeds"]
            if analyses["cross_seed"] and len(seeds) < 2:
                raise ConfigError(
                    f"models.{model}.seeds: the cross-seed control (analyses.cross_seed) inverts "
                    f"one seed's activations with another seed's function, but {model!r} has "
                    f"one seed ({seeds}); add a seed or set analyses.cross_seed: false"
                )

    def check_analyses(self) -> None:
        analyses = self.config["analyses"]
        for i, grid in enumerate(analyses["grids"]):
            self.check_grid(f"analyses.grids[{i}]", grid)
        inverted = self.inverted()
        for i, entry in enumerate(analyses["distances"]):
            where = f"analyses.distances[{i}]"
            self.known_model(entry["model"], where)
            self.known_layer(entry["model"], entry["layer"], f"{where}.layer")
            if not any(m == entry["model"] and la == entry["layer"] for m, la, _, _ in inverted):
                raise ConfigError(
                    f"{where}: no figure or grid inverts {entry['model']}:{entry['layer']}, so "
                    f"it has no steps"
                )
        for i, claim in enumerate(analyses["claims"]):
            self.check_claim_kind(i, claim)
            roles = claim_sides(claim)
            for role, side in roles:
                where = f"analyses.claims[{i}].{role}"
                self.check_grid(where, side, t_key="t", tps_key="tps")
                for layer in side["layers"]:
                    tps = side.get("tps") or []
                    missing = [
                        tp for tp in tps if (side["model"], layer, side["t"], tp) not in inverted
                    ]
                    if not any(key[:3] == (side["model"], layer, side["t"]) for key in inverted):
                        missing = ["any step"]
                    if missing:
                        raise ConfigError(
                            f"{where}: no figure or grid inverts {side['model']}:{layer} with "
                            f"function {side['t']} at {', '.join(missing)}; add it to "
                            f"analyses.grids"
                        )
                gridded = self.gridded_seeds(side["model"], side["t"])
                absent = [seed for seed in side["seeds"] if seed not in gridded]
                if absent:
                    raise ConfigError(
                        f"{where}: no grid inverts {side['model']} with function {side['t']} "
                        f"for seed(s) {absent} (figures invert one seed only); add them to an "
                        f"analyses.grids entry"
                    )
            # seeds pair the sides of one network (fc1 and fc2 of one run), so they must share
            # one; sides of two networks are compared unpaired
            sides = [side for _, side in roles]
            paired = len(sides) >= 2 and len({s["model"] for s in sides}) == 1
            if paired and not set.intersection(*(set(s["seeds"]) for s in sides)):
                raise ConfigError(
                    f"analyses.claims[{i}]: its sides share no training seed "
                    f"({' vs '.join(str(s['seeds']) for s in sides)}); seeds pair the sides of "
                    f"one network, so they must share one"
                )

    def check_judges(self) -> None:
        """Each label judge is a trained model of the dataset it judges, at a saved step."""
        for dataset, judge in self.config["analyses"]["label_judges"].items():
            where = f"analyses.label_judges.{dataset}"
            if dataset not in self.config["datasets"]:
                raise ConfigError(
                    f"{where}: unknown dataset {dataset!r}; datasets in the config: "
                    f"{', '.join(self.config['datasets'])}"
                )
            self.known_model(judge["model"], where)
            spec = self.models[judge["model"]]
            if spec["dataset"] != dataset:
                raise ConfigError(
                    f"{where}.model: {judge['model']!r} is trained on {spec['dataset']!r}, not "
                    f"on the dataset it would judge ({dataset!r})"
                )
            if judge["seed"] not in spec["seeds"]:
                raise ConfigError(
                    f"{where}.seed: model {judge['model']!r} is not trained with seed "
                    f"{judge['seed']} (its seeds: {spec['seeds']})"
                )
            self.saved_whole(judge["model"], judge["step"], f"{where}.step")

    def check_claim_kind(self, i: int, claim: dict) -> None:
        """The keys each kind needs and its own check (the schema cannot tie keys to a kind)."""
        from ..analysis.claims import KINDS

        where = f"analyses.claims[{i}]"
        kind = KINDS[claim["kind"]]
        missing = [key for key in kind.needs if key not in claim]
        if missing:
            raise ConfigError(f"{where}: a {claim['kind']} claim needs {', '.join(missing)}")
        others = {key for other in KINDS.values() for key in (*other.needs, *other.takes)}
        foreign = sorted(others & set(claim) - {*kind.needs, *kind.takes})
        if foreign:
            raise ConfigError(
                f"{where}.{foreign[0]}: a {claim['kind']} claim does not read "
                f"{', '.join(foreign)} (the keys it reads besides claim, kind, measure and "
                f"primary: {', '.join([*kind.needs, *kind.takes]) or 'none'})"
            )
        if kind.check:
            kind.check(claim, where)
