"""What a claim kind is: the config keys it needs, its side roles (and which of them claim a
loss), its null (the forest plot's reference line), its own config check, and its evaluation.
Adding a kind is one module that defines a :class:`Kind` and one line in
:data:`invertibility.analysis.claims.KINDS` (plus the schema's enum, which a test keeps in step)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from ..stats import seeds_to_clear, t_interval


@dataclass(frozen=True)
class Kind:
    name: str
    evaluate: Callable  # (Evidence, claim) -> list[Row]: the claim's row, then any expansions
    null: Callable[[dict], float]  # the claim's reference line (0, its level)
    needs: tuple[str, ...] = ()  # config keys besides claim and kind
    roles: tuple[str, ...] = ()  # side roles in the config
    loss_roles: tuple[str, ...] = ()  # sides that claim invertibility is lost: floor-gated
    check: Callable[[dict, str], None] | None = None  # raises ConfigError naming ``where``
    line: Callable[[dict], str] | None = None  # the line its interval must clear, as text

    def line_of(self, claim: dict) -> str:
        return self.line(claim) if self.line else f"{self.null(claim):g}"


@dataclass
class Row:
    """One evaluated claim (or expansion): effect with interval, one-sided p-values for the claim
    (``p``) and against it (``p_reverse``), per-seed effects, and the sides it rests on.

    ``interval(level)`` gives ``(low, high)`` at a two-sided level and ``decide(level)`` the seeds
    at which that interval would clear the claim's line at the observed spread: the evaluator
    asks both at the level the claim is judged at (Holm's, for a primary claim). ``parts``: the
    p-values of an intersection-union test (every part must hold; ``p`` is the largest)."""

    claim: str
    measure: str
    value: float
    low: float
    high: float
    p: float
    p_reverse: float
    effects: dict = field(default_factory=dict)  # seed -> effect (the forest plot's dots)
    n_seeds: int = 0
    n_images: int = 0
    seeds_to_decide: float = float("nan")
    detail: str = ""
    sides: list = field(default_factory=list)  # (role, side) pairs, for the gates
    expansion: bool = False  # a per-(model, layer) expansion: exploratory
    notes: list = field(default_factory=list)  # reasons the data void a verdict
    interval: Callable | None = None  # level -> (low, high)
    decide: Callable | None = None  # level -> seeds
    two_sided: bool = False
    parts: dict = field(default_factory=dict)  # part -> (p, p_reverse)
    sub_verdict: str = ""  # a companion measure's verdict (e.g. E beside R)
    line: str = ""  # the line the interval must clear, where the data set it (else the kind's)


def seed_row(
    claim: str,
    measure: str,
    effects: pd.Series,
    p: float,
    p_reverse: float,
    line: float = 0.0,
    resolution: float = 0.0,
    **rest,
) -> Row:
    """A row whose value and interval are Student's t over its per-seed ``effects`` (spread
    floored at ``resolution``); ``line``: what the interval must clear."""
    effects = effects.dropna()
    value, low, high = t_interval(effects, resolution=resolution)
    rest.setdefault("interval", lambda level: t_interval(effects, level, resolution=resolution)[1:])
    rest.setdefault("decide", lambda level: seeds_to_clear(effects, line, level, resolution))
    return Row(
        claim=claim,
        measure=measure,
        value=value,
        low=low,
        high=high,
        p=p,
        p_reverse=p_reverse,
        effects=effects.to_dict(),
        n_seeds=len(effects),
        **rest,
    )
