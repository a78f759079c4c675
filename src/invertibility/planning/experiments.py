"""Experiment families beside the inversions (the config's ``experiments``): the registry.

A family is one planning module here (its ``FAMILY`` name, the config key it reads; ``check``,
its config checks; ``Jobs``, its jobs, their specs and files, its ``tables`` and its
``claims``), one rule file (``rules/<family>.smk``), one job module (registered in
:data:`invertibility.jobs.call.JOBS`), its tables and a Holm family of claims of its own. The
pipeline reads every family through :class:`Experiments`: the final targets, the claims rule's
tables and every family's claims; adding one touches no other family (docs/extending.md).
"""

from __future__ import annotations

from . import augmentation

FAMILIES = {module.FAMILY: module for module in (augmentation,)}


def check(config: dict) -> None:
    """Every family's config checks (``config``: resolved)."""
    for module in FAMILIES.values():
        module.check(config)


class Experiments:
    def __init__(self, plan):
        self.families = {name: module.Jobs(plan) for name, module in FAMILIES.items()}

    def __getitem__(self, family: str):
        return self.families[family]

    def tables(self) -> dict[str, str]:
        """Every configured family's tables by name (what the claims read)."""
        return {
            name: path for jobs in self.families.values() for name, path in jobs.tables().items()
        }

    def claims(self) -> list[dict]:
        """Every configured family's claims, each marked with its family."""
        return [claim for jobs in self.families.values() for claim in jobs.claims()]
