"""The measures registry, the schema and the shipped configs stay in step."""

import yaml
from conftest import ROOT, load_config

from invertibility.analysis.claims import KINDS
from invertibility.analysis.measures import MEASURES


def schema() -> dict:
    return yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_every_measure_enum_is_the_registry():
    """One enum of measures in the schema, the registry's; every measure key refers to it."""
    s = schema()
    assert s["$defs"]["measure"]["enum"] == list(MEASURES)
    claim = s["$defs"]["claim"]
    references = [
        s["properties"]["analyses"]["properties"]["predictors_measure"],
        claim["else"]["properties"]["measure"],  # every kind but an experiment's
        s["$defs"]["figure"]["properties"]["measure"],
    ]
    assert all(ref["$ref"] == "#/$defs/measure" for ref in references)
    # an experiment's claim (arm_contrast) measures a held-out outcome, from its own enum
    from invertibility.analysis.claims.arm_contrast import OUTCOMES

    assert claim["if"]["properties"]["kind"]["const"] == "arm_contrast"
    assert claim["then"]["properties"]["measure"]["$ref"] == "#/$defs/outcome"
    assert s["$defs"]["outcome"]["enum"] == list(OUTCOMES)
    assert claim["properties"]["measure"]["anyOf"] == [
        {"$ref": "#/$defs/measure"},
        {"$ref": "#/$defs/outcome"},
    ]
    text = (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text()
    assert text.count("retained_identity_raw") == 1  # no copy of the enum elsewhere


def test_the_predictor_enum_is_the_predictors_table():
    from invertibility.analysis.predictors import PREDICTORS

    assert schema()["$defs"]["claim"]["properties"]["predictor"]["enum"] == list(PREDICTORS)


def test_the_claim_kind_enum_is_the_registry():
    assert schema()["$defs"]["claim"]["properties"]["kind"]["enum"] == list(KINDS)


def test_the_architecture_enum_is_the_registry():
    from invertibility.nets.models import ARCHITECTURES

    enum = schema()["$defs"]["model"]["properties"]["architecture"]["enum"]
    assert sorted(enum) == sorted(ARCHITECTURES)
    assert all(architecture.name == name for name, architecture in ARCHITECTURES.items())


def test_the_figure_kind_enum_is_the_registry():
    from invertibility.figures import KINDS as FIGURE_KINDS

    assert schema()["$defs"]["figure"]["properties"]["kind"]["enum"] == list(FIGURE_KINDS)
    assert all(kind.name == name for name, kind in FIGURE_KINDS.items())


def test_paper_and_default_configs_make_the_same_claims_and_draw_rows_in_the_same_order():
    default = load_config(ROOT / "config.yaml")
    paper = load_config(ROOT / "config" / "paper.yaml")
    assert paper["analyses"]["claims"] == default["analyses"]["claims"]
    assert len(default["analyses"]["claims"]) == 9
    for name, figure in default["figures"].items():
        if "panels" not in figure or name not in paper["figures"]:
            continue
        for ours, theirs in zip(figure["panels"], paper["figures"][name]["panels"], strict=False):
            shared = [layer for layer in ours["layers"] if layer in theirs["layers"]]
            assert shared == [layer for layer in theirs["layers"] if layer in shared], name
