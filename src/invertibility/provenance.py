"""A hash of the code a rule runs, passed to the rule as a param.

Snakemake reruns a job when its params change, but it cannot see edits in an imported package.
The modules a rule runs are read from the imports themselves: its script's imports of this
package, and theirs, transitively (imports inside functions count too). Editing a module then
reruns exactly the rules whose scripts reach it.
"""

from __future__ import annotations

import ast
import hashlib
from importlib import resources
from pathlib import Path

PACKAGE = "invertibility"


def imported_modules(source: str, package: str = PACKAGE) -> set[str]:
    """Modules of ``package`` that ``source`` imports (``from .x import``, ``from . import x``,
    ``import package.x``, ``from package.x import``, ``from package import x``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            relative = node.level > 0
            parts = (node.module or "").split(".") if node.module else []
            if not relative:
                if not parts or parts[0] != package:
                    continue
                parts = parts[1:]
            if parts:
                found.add(parts[0])
            else:  # from . import x / from package import x
                found.update(alias.name for alias in node.names)
    return found


def module_closure(script: str | Path, package_dir=None) -> list[str]:
    """The package modules a script runs: its imports and theirs, transitively, sorted."""
    package_dir = package_dir or resources.files(PACKAGE)
    pending = imported_modules(Path(script).read_text())
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        source = package_dir.joinpath(f"{module}.py")
        if module in seen or not source.is_file():
            continue
        seen.add(module)
        pending |= imported_modules(source.read_text()) - seen
    return sorted(seen)


def code_version(script: str | Path, package_dir=None) -> str:
    """Hash of ``script`` and of the sources of every package module it runs."""
    package_dir = package_dir or resources.files(PACKAGE)
    digest = hashlib.sha256(Path(script).read_bytes())
    for module in module_closure(script, package_dir):
        digest.update(module.encode())
        digest.update(package_dir.joinpath(f"{module}.py").read_bytes())
    return digest.hexdigest()[:16]
