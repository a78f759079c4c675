"""What a claim kind is: the config keys it needs and takes, its side roles (and which of them
claim a loss), its null (the forest plot's reference line), its own config check, its
evaluation, and the specification-curve alternatives it takes. Adding a kind is one module that
defines a :class:`Kind` and one line in :data:`invertibility.analysis.claims.KINDS` (plus the
schema's enum, which a test keeps in step).

A kind's evaluation returns :class:`Row` s, each resting on :class:`~invertibility.analysis.
stats.SeedTest` results: the row's headline test (its value, interval and seeds) and the
:class:`Part` s its verdict needs (an intersection-union test: every part must hold). The
evaluator, the seed planner and the specification curve read these fields, never a row's text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..stats import LEVEL, SeedTest, one_sample

# (evidence, claim, specification) -> the claim under the specification, or None where it does
# not apply; keyed by the specification's dimension (line, measure, null, activation steps,
# function step)
Alternative = Callable[..., "dict | None"]


@dataclass(frozen=True)
class Kind:
    name: str
    evaluate: Callable  # (Evidence, claim, alpha) -> list[Row]: the claim's row, then expansions
    null: Callable[[dict], float]  # the claim's reference line (0, its level)
    needs: tuple[str, ...] = ()  # config keys besides claim and kind
    takes: tuple[str, ...] = ()  # optional config keys only this kind reads
    roles: tuple[str, ...] = ()  # side roles in the config
    loss_roles: tuple[str, ...] = ()  # sides that claim invertibility is lost: floor-gated
    check: Callable[[dict, str], None] | None = None  # raises ConfigError naming ``where``
    line: Callable[[dict], str] | None = None  # the line its interval must clear, as text
    # the specification curve's alternatives it takes, by dimension; None: undeclared (the
    # curve refuses the kind), {} : none applies
    alternatives: Mapping[str, Alternative] | None = None

    def line_of(self, claim: dict) -> str:
        return self.line(claim) if self.line else f"{self.null(claim):g}"


class Note(str):
    """A reason the data void a verdict: its full text (the claims table's reason) and
    ``short``, a few words for a figure's label (read from the claims table's
    ``why_inconclusive`` column, never parsed out of the text)."""

    short: str

    def __new__(cls, text: str, short: str) -> Note:
        note = super().__new__(cls, text)
        note.short = short
        return note

    def __getnewargs__(self) -> tuple[str, str]:  # copy and pickle rebuild it with its short
        return str(self), self.short


@dataclass(frozen=True)
class Part:
    """One test a claim's verdict needs. ``direction``: the claim needs the estimate above the
    test's null (``greater``) or below it (``less``); ``for_claim`` / ``against``: whether the
    part counts in the claim's p and in its reverse (a part such as "the greater side retains
    something" only counts for the claim)."""

    name: str
    test: SeedTest
    direction: str = "greater"
    for_claim: bool = True
    against: bool = True

    @property
    def p(self) -> float | None:
        if not self.for_claim:
            return None
        return self.test.p if self.direction == "greater" else self.test.p_reverse

    @property
    def p_reverse(self) -> float | None:
        if not self.against:
            return None
        return self.test.p_reverse if self.direction == "greater" else self.test.p

    def seeds_to_clear(self, level: float, power: float | None = None) -> float:
        """Seeds at which this part's interval at ``level`` would clear its null on the side
        the claim needs, at the observed estimate and spread (with ``power``: at which a
        one-sided test at ``(1 - level) / 2`` would find it that often): 0 where it already
        does with no spread, inf where the estimate lies on the other side (no number of seeds
        helps), NaN where the spread is unknown (fewer than two seeds)."""
        gap = (self.test.estimate - self.test.null) * (1 if self.direction == "greater" else -1)
        if not (np.isfinite(gap) and np.isfinite(self.test.seed_sd)):
            return np.nan
        if gap <= 0:
            return np.inf
        if self.test.seed_sd <= 1e-12:
            return 0.0
        return self.test.seeds_to_clear(level=level, power=power)

    def reading(self, level: float, name: str | None = None) -> str:
        """``name estimate [low, high] vs null, p``, at ``level``, saying where it was clipped
        (``name``: another label than the part's)."""
        low, high = self.test.confidence_interval(level)
        clip = (
            f" (clipped to [{self.test.bounds[0]:g}, {self.test.bounds[1]:g}])"
            if self.test.clipped(level)
            else ""
        )
        p = self.p if self.p is not None else self.p_reverse
        which = "" if self.p is not None else " against"
        return (
            f"{name or self.name} {self.test.estimate:.3f} [{low:.3f}, {high:.3f}]{clip} vs "
            f"{self.test.null:g}, p{which} {p:.3g}"
        )


def combine(parts) -> tuple[float, float]:
    """The intersection-union p-values: the largest part for, the largest part against (an
    undefined part, NaN, makes the whole NaN)."""
    p = [part.p for part in parts if part.p is not None]
    p_reverse = [part.p_reverse for part in parts if part.p_reverse is not None]
    return float(np.max(p)) if p else np.nan, float(np.max(p_reverse)) if p_reverse else np.nan


@dataclass(frozen=True)
class Tested:
    """What a pooled claim's test gives each of its rows: the headline test, the claim's
    p-values, the parts its verdict needs (default: the headline), the line its interval must
    clear where the data set it, notes that void a verdict, and text for the detail."""

    test: SeedTest
    p: float
    p_reverse: float
    parts: tuple[Part, ...] = ()
    line: str = ""
    notes: tuple[str, ...] = ()
    text: str = ""
    margin: float = np.nan  # an equivalence region's half-width, where the data set it


@dataclass
class Row:
    """One evaluated claim (or expansion): its headline ``test`` (value, interval, seeds), the
    claim's one-sided p-values for it (``p``) and against it (``p_reverse``), the ``parts`` its
    verdict needs (default: the headline alone), and the sides it rests on. The evaluator asks
    for the interval and the seeds to decide at the level the claim is judged at (Holm's, for a
    primary claim)."""

    claim: str
    measure: str
    test: SeedTest
    p: float
    p_reverse: float
    parts: tuple[Part, ...] = ()
    n_seeds: int | None = None  # default: the headline's seeds
    n_images: int | None = 0  # None: an outcome not measured on inverted images (no image gate)
    detail: str = ""
    sides: list = field(default_factory=list)  # (role, side) pairs, for the gates
    expansion: bool = False  # a per-(model, layer) expansion: exploratory
    notes: list = field(default_factory=list)  # reasons the data void a verdict
    two_sided: bool = False
    sub_verdict: str = ""  # a companion measure's verdict (e.g. E beside R)
    line: str = ""  # the line the interval must clear, where the data set it (else the kind's)
    margin: float = np.nan  # an equivalence region's half-width (the forest plot draws +-it)
    post_hoc: str = ""  # readings not registered with the claim (e.g. per layer), labelled so
    effects: dict | None = None  # seed -> effect (the forest plot's dots); default the test's

    def __post_init__(self):
        if not self.parts:
            self.parts = (Part(self.measure, self.test),)
        if self.n_seeds is None:
            self.n_seeds = self.test.n_seeds
        if self.effects is None:
            self.effects = {}

    @property
    def value(self) -> float:
        return self.test.estimate

    def interval(self, level: float = LEVEL) -> tuple[float, float]:
        return self.test.confidence_interval(level)

    def seeds_to_decide(self, level: float = LEVEL, power: float | None = None) -> float:
        """Seeds at which every part the claim needs would clear its line at ``level`` on the
        claimed side, at the observed estimates and spreads (with ``power``: be found that
        often; see :meth:`Part.seeds_to_clear`); the most any part needs (for a two-sided
        claim, every part on the side its headline lies: the claim or its reverse); NaN where
        no number of seeds would (a part on the other side, or more than a thousand) or the
        spread is unknown."""
        parts = [part for part in self.parts if part.for_claim]
        if self.two_sided and parts and parts[0].seeds_to_clear(level) == np.inf:
            flip = {"greater": "less", "less": "greater"}
            parts = [dataclasses.replace(p, direction=flip[p.direction]) for p in parts]
        needed = [part.seeds_to_clear(level, power) for part in parts]
        return float(max(needed)) if needed and np.isfinite(needed).all() else np.nan

    def readings(self, level: float) -> str:
        """Every part at ``level`` (one part: empty; the headline says it)."""
        return "; ".join(part.reading(level) for part in self.parts) if len(self.parts) > 1 else ""


def seed_row(
    claim: str,
    measure: str,
    effects: pd.Series,
    p: float | None = None,
    p_reverse: float | None = None,
    line: float = 0.0,
    resolution: float = 0.0,
    bounds: tuple[float, float] = (-np.inf, np.inf),
    **rest,
) -> Row:
    """A row whose headline is Student's t over its per-seed ``effects`` against ``line`` (the
    spread floored at ``resolution``); ``p``/``p_reverse`` default to that test's."""
    effects = effects.dropna()
    test = one_sample(effects, line, resolution, bounds)
    return Row(
        claim=claim,
        measure=measure,
        test=test,
        p=test.p if p is None else p,
        p_reverse=test.p_reverse if p_reverse is None else p_reverse,
        effects=effects.to_dict(),
        **rest,
    )
