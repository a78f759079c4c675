"""The specification curve: each specification applies where the pre-registered plan says, the
registered column is the claims table's primary family, every other column re-adjusts the same
family, a flip is a changed verdict, a noise world supports nothing under any specification, and
its grid figure draws on a page."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from synthetic import distance_table, invertibility, units_frame

from invertibility.analysis.claims import evaluate_claims
from invertibility.analysis.claims.evidence import Evidence
from invertibility.analysis.claims.sensitivity import (
    COLUMNS,
    SPECIFICATIONS,
    change,
    claims_sensitivity,
    robustness,
)

ROOT = Path(__file__).resolve().parents[1]

# docs/analysis_plan.md, "the specification curve": the claims (numbered as in the config) each
# specification applies to
PLANNED = {
    "registered": {1, 2, 3, 4, 5, 6, 7, 8, 9},
    "line 0.25": {2},
    "line 0.75": {2},
    "excess": {1, 3, 4, 6, 9},
    "identified (whole pool)": {1, 2, 3, 4, 6, 7, 9},
    "identified (within class)": {1, 2, 3, 4, 6, 7, 9},
    "SSIM": {1, 3, 4, 6, 8, 9},
    "same-class null": {1, 2, 3, 4, 6, 9},
    "first tp only": {1, 3, 4, 6},
    "last tp only": {1, 3, 4, 6},
    "other function step": {3},
}


def default_grid_table(config: dict) -> pd.DataFrame:
    """The (model, seed, layer, t, tp) rows the default config's grids invert, controls
    included: all the specifications read to decide where they apply."""
    rows = []
    for grid in config["analyses"]["grids"]:
        seeds = config["models"][grid["model"]]["seeds"]
        for seed in seeds:
            for layer in grid["layers"]:
                for tp in [*grid["activations"], "other_image", "cross_seed"]:
                    rows.append((grid["model"], seed, layer, grid["function"], tp))
    return pd.DataFrame(rows, columns=["model", "seed", "layer", "t", "tp"])


def test_each_specification_applies_to_the_claims_the_plan_names():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    claims = config["analyses"]["claims"]
    evidence = SimpleNamespace(table=default_grid_table(config))
    assert [spec.name for spec in SPECIFICATIONS] == list(PLANNED)
    for spec in SPECIFICATIONS:
        applies = {
            number
            for number, claim in enumerate(claims, start=1)
            if change(spec, evidence, claim) is not None
        }
        assert applies == PLANNED[spec.name], spec.name
    plan = (ROOT / "docs" / "analysis_plan.md").read_text()
    for name in PLANNED:
        assert f"`{name}`" in plan or name == "other function step", name
    assert "`function step 4_100`" in plan


def test_the_activation_and_function_step_choices_change_what_they_name():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    claims = config["analyses"]["claims"]
    evidence = SimpleNamespace(table=default_grid_table(config))
    specs = {spec.name: spec for spec in SPECIFICATIONS}
    mlp = claims[0]  # no tps: every tested step after 0_10
    assert change(specs["first tp only"], evidence, mlp)["greater"]["tps"] == ["0_20"]
    assert change(specs["last tp only"], evidence, mlp)["lesser"]["tps"] == ["2_0"]
    conv5 = change(specs["other function step"], evidence, claims[2])
    assert (conv5["greater"]["t"], conv5["lesser"]["t"]) == ("4_100", "4_100")
    assert "tps" not in conv5["greater"] and claims[2]["greater"]["t"] == "0_100"  # a copy
    line = change(specs["line 0.75"], evidence, claims[1])
    assert line["level"] == 0.75 and "level" not in claims[1]


def world(rng, n_seeds=5, gap=0.3, image_sd=0.1):
    models = {"a": {"l1": [0.5 + gap, 0.5 + gap], "l2": [0.5, 0.5]}, "b": {"l1": [0.5, 0.5]}}
    units = units_frame(models, range(n_seeds), p=(2, 4), retained_sd=0.05, rng=rng)
    frame = invertibility(units, image_sd=image_sd, rng=rng)
    return frame.assign(
        identified_all=frame["identified"],
        identified_class=frame["identified"],
        ssim=frame["similarity"],
        ssim_gain=frame["similarity"] - 0.1,
    )


def side(model, layer, **rest):
    return {"model": model, "layers": [layer], "t": "0_1", **rest}


CLAIMS = [
    {"claim": "paired", "kind": "compare", "greater": side("a", "l1"), "lesser": side("a", "l2")},
    {
        "claim": "threshold",
        "kind": "threshold",
        "above": side("a", "l1", tps=["0_3"]),
        "below": side("b", "l1", tps=["0_3"]),
    },
    {"claim": "welch", "kind": "compare", "greater": side("a", "l1"), "lesser": side("b", "l1")},
]


def test_the_registered_column_is_the_claims_table_and_each_column_a_whole_family():
    frame = world(np.random.default_rng(3))
    curve = claims_sensitivity(CLAIMS, Evidence(frame, pd.DataFrame(), pd.DataFrame()))
    table = evaluate_claims(CLAIMS, frame)[0]
    table = table[table["family"] == "primary"].set_index("claim")
    registered = curve[curve["specification"] == "registered"].set_index("claim")
    for column in ("verdict", "p_value", "p_adjusted", "value"):
        assert registered[column].tolist() == table.loc[registered.index, column].tolist()
    assert len(curve) == len(CLAIMS) * len(SPECIFICATIONS)
    not_applied = curve[~curve["applies"]]
    assert (not_applied["verdict"] == "n/a").all() and not_applied["p_adjusted"].isna().all()
    assert not not_applied["flips"].any()
    # the line applies to the threshold only: the compare claims are not repeated under it
    line = curve[curve["specification"] == "line 0.75"].set_index("claim")
    assert line["applies"].to_dict() == {"paired": False, "threshold": True, "welch": False}
    # Holm over the whole family in every column: the changed form of the claims it applies
    # to, the registered form of the others
    from invertibility.analysis.stats import holm

    registered_p = curve[curve["specification"] == "registered"].set_index("claim")["p_value"]
    for _, column in curve.groupby("specification"):
        family = column.set_index("claim")
        p = family["p_value"].where(family["applies"], registered_p.reindex(family.index))
        expected = pd.Series(holm(p.to_numpy()), index=family.index)[family["applies"]]
        np.testing.assert_allclose(family.loc[family["applies"], "p_adjusted"], expected)
    # each column measures what it names
    for spec, name in {
        "excess": "excess",
        "identified (whole pool)": "identified_all",
        "identified (within class)": "identified_class",
        "SSIM": "ssim_gain",
        "same-class null": "retained_identity",
        "line 0.75": "level 0.75",
    }.items():
        applied = curve[(curve["specification"] == spec) & curve["applies"]]
        assert len(applied) and applied["measure"].str.contains(name).all(), spec


def test_the_pooled_claims_take_the_identification_and_ssim_they_are_given():
    """Figure 6's claim counts pairs invertible by the specification's identification; the
    within-step norm claim correlates the specification's per-image measure."""
    rng = np.random.default_rng(4)
    frame = world(rng).assign(identified_all=False)
    at_steps = (frame["p"].fillna(0).astype(int) > 0).to_numpy()
    distances = distance_table(frame, rng.uniform(0.5, 1.5, at_steps.sum()))
    claims = [
        {"claim": "d", "kind": "distance"},
        {"claim": "n", "kind": "norm_predicts"},
    ]
    curve = claims_sensitivity(claims, Evidence(frame, distances, pd.DataFrame()))
    cells = curve.set_index(["claim", "specification"])
    assert cells.loc[("d", "registered"), "n_seeds"] == 5
    assert cells.loc[("d", "identified (whole pool)"), "n_seeds"] == 0  # no pair identified
    assert "identified_all" in cells.loc[("d", "identified (whole pool)"), "measure"]
    assert "and ssim," in cells.loc[("n", "SSIM"), "measure"]
    assert "and similarity," in cells.loc[("n", "registered"), "measure"]


def test_the_function_step_column_is_named_after_the_step_it_takes():
    rng = np.random.default_rng(6)
    early = world(rng)
    late = world(rng)
    late["t"] = "0_9"
    late.loc[late["tp"] == "0_1", "tp"] = "0_9"
    frame = pd.concat([early, late], ignore_index=True)
    curve = claims_sensitivity(CLAIMS, Evidence(frame, pd.DataFrame(), pd.DataFrame()))
    assert "function step 0_9" in set(curve["specification"])
    step = curve[curve["specification"] == "function step 0_9"].set_index("claim")
    assert step["applies"].to_dict() == {"paired": True, "threshold": False, "welch": True}


def test_a_flip_is_a_verdict_other_than_the_registered_one_and_robustness_names_it():
    # a threshold whose above side sits at 0.75: supported at the line 0.25 and 0.5, not at 0.75
    rng = np.random.default_rng(5)
    models = {"a": {"l1": [0.75, 0.75]}, "b": {"l1": [0.1, 0.1]}}
    units = units_frame(models, range(6), p=(2, 4), retained_sd=0.02, rng=rng)
    frame = invertibility(units, image_sd=0.05, rng=rng)
    claim = [{**CLAIMS[1], "above": side("a", "l1", tps=["0_3"])}]
    specs = [s for s in SPECIFICATIONS if s.name in ("registered", "line 0.25", "line 0.75")]
    curve = claims_sensitivity(claim, Evidence(frame, pd.DataFrame(), pd.DataFrame()), specs)
    verdicts = curve.set_index("specification")["verdict"].to_dict()
    assert verdicts == {
        "registered": "supported",
        "line 0.25": "supported",
        "line 0.75": "inconclusive",
    }
    summary = robustness(curve)
    assert not summary.loc[0, "holds"] and summary.loc[0, "alternatives"] == 2
    assert summary.loc[0, "flipped_by"] == "line 0.75 (inconclusive)"


def test_noise_supports_nothing_under_any_specification():
    """Every side retains the same in truth and the inversions are noisy: no specification,
    adjusted over the family, may call a difference supported."""
    rng = np.random.default_rng(8)
    for _ in range(3):
        frame = world(rng, n_seeds=4, gap=0.0, image_sd=0.3)
        curve = claims_sensitivity(
            [CLAIMS[0], CLAIMS[2]], Evidence(frame, pd.DataFrame(), pd.DataFrame())
        )
        assert not (curve["verdict"] == "supported").any(), curve[["claim", "specification"]]


def test_the_grid_draws_every_claim_and_specification_on_a_page(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    from invertibility.figures.claims_sensitivity import draw_sensitivity_grid

    frame = world(np.random.default_rng(3))
    curve = claims_sensitivity(CLAIMS, Evidence(frame, pd.DataFrame(), pd.DataFrame()))
    pdf, png = tmp_path / "grid.pdf", tmp_path / "grid.png"
    draw_sensitivity_grid(curve, str(pdf), str(png), title="t")
    image = plt.imread(png)
    height, width = image.shape[:2]
    assert pdf.stat().st_size > 0 and 1.0 < width / height < 4.0


def test_a_config_without_claims_gives_an_empty_curve_and_says_so(tmp_path):
    from invertibility.figures.claims_sensitivity import draw_sensitivity_grid

    frame = world(np.random.default_rng(3))
    curve = claims_sensitivity([], Evidence(frame, pd.DataFrame(), pd.DataFrame()))
    assert curve.empty and list(curve.columns) == COLUMNS
    assert robustness(curve).empty
    draw_sensitivity_grid(curve, str(tmp_path / "g.pdf"), str(tmp_path / "g.png"))
    assert (tmp_path / "g.png").stat().st_size > 0


def test_a_kind_that_declares_no_alternatives_is_refused_and_one_that_declares_none_is_n_a():
    """The curve reads each kind's declaration: an undeclared kind is refused with an error
    naming it (it would silently read "n/a" everywhere), a kind declaring {} gets "n/a" under
    every alternative and its registered verdict."""
    from invertibility.analysis import claims as claims_module
    from invertibility.analysis.claims.kind import Kind, seed_row
    from invertibility.core.errors import ConfigError

    def evaluate(evidence, claim, alpha):
        return [seed_row(claim["claim"], "m", pd.Series([0.1, 0.2, 0.3]))]

    original = dict(claims_module.KINDS)
    claims_module.KINDS["silent"] = Kind("silent", evaluate, lambda claim: 0.0)
    claims_module.KINDS["plain"] = Kind("plain", evaluate, lambda claim: 0.0, alternatives={})
    try:
        evidence = SimpleNamespace(table=pd.DataFrame())
        with pytest.raises(ConfigError, match="kind 'silent' declares no"):
            change(SPECIFICATIONS[1], evidence, {"claim": "s", "kind": "silent"})
        claim = {"claim": "p", "kind": "plain"}
        assert change(SPECIFICATIONS[0], evidence, claim) is claim
        assert all(change(spec, evidence, claim) is None for spec in SPECIFICATIONS[1:])
    finally:
        claims_module.KINDS.clear()
        claims_module.KINDS.update(original)


def test_every_kind_declares_its_alternatives_by_known_dimensions():
    from invertibility.analysis.claims import KINDS
    from invertibility.analysis.claims.sensitivity import DIMENSIONS

    for kind in KINDS.values():
        assert kind.alternatives is not None, kind.name
        assert set(kind.alternatives) <= set(DIMENSIONS) - {"registered"}, kind.name
