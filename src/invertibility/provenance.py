"""A hash of the package code that a rule depends on, passed to the rule as a param.

Snakemake reruns a job when its params change, but it cannot see edits in an imported package;
with this hash in params, editing the code that makes an output reruns that output (and only
the rules whose code changed).
"""

from __future__ import annotations

import hashlib
from importlib import resources

# Modules each kind of job runs, beyond the standard library and third-party packages.
CODE_OF = {
    "train": ["data", "models", "training", "checkpoints", "device", "steps", "jobs"],
    "invert": [
        "data",
        "models",
        "taps",
        "objectives",
        "inversion",
        "checkpoints",
        "device",
        "training",
        "jobs",
    ],
    "figure": ["figures", "inversion_io"],
    "distances": ["distances", "data", "models", "taps", "checkpoints", "jobs"],
    "tables": ["tables", "stats", "claims", "inversion_io", "steps", "jobs"],
    "analysis_figure": ["analysis_figures", "tables", "stats"],
}


def code_version(kind: str, package=None) -> str:
    """Hash of the sources of the modules ``kind`` runs (``package``: a folder holding the
    package's modules; default the installed package)."""
    digest = hashlib.sha256()
    package = package or resources.files("invertibility")
    for module in sorted({*CODE_OF[kind], "atomic", "plan", "paths"}):
        digest.update(module.encode())
        digest.update(package.joinpath(f"{module}.py").read_bytes())
    return digest.hexdigest()[:16]
