"""What a figure kind is: the files it draws from, how it draws them, and its caption.

A kind is one module of this package with a ``KIND``; the one ``figure`` rule asks each figure's
kind for its inputs (from the plan, which the kind receives and never imports) and its caption,
its script calls the kind's ``draw``, and the config checker asks it to check its entry. Drawing
imports matplotlib only when it draws, so that planning reads the registry without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FigureKind:
    name: str
    inputs: Callable[[Any, str], dict]  # (plan, figure name) -> {input name: file or files}
    draw: Callable[[dict, dict, str, str], None]  # (those files, the figure's spec, pdf, png)
    category: str  # the report's section
    caption: str  # reStructuredText for the report; "{name}" stands for the figure's name
    planned: Callable[[Any, str], dict] | None = None  # facts of the plan the drawing needs
    panels: bool = False  # drawn from the config entry's panels (which every other kind refuses)
    check: Callable[[dict, str, Any], None] | None = None  # (entry, its key, the config checker)

    def caption_of(self, name: str) -> str:
        return self.caption.replace("{name}", name)

    def spec_of(self, plan, name: str) -> dict:
        """The figure's config entry, with what the plan adds for this kind."""
        entry = dict(plan.config["figures"][name])
        return entry | (self.planned(plan, name) if self.planned else {})
