"""A hash of the code a rule runs, passed to the rule as a param.

Snakemake reruns a job when its params change, but it cannot see edits in an imported package.
The modules a rule runs are read from the imports themselves: its script's imports of this
package, and theirs, transitively (imports inside functions count too), absolute, relative and
dotted (a sub-package's ``__init__`` and its modules). Editing a module then reruns exactly the
rules whose scripts reach it. A module is named by its dotted path inside the package
(``tables``, ``claims.compare``); the hash covers names and contents, so moving a module reruns
the rules that run it.
"""

from __future__ import annotations

import ast
import hashlib
from importlib import resources
from pathlib import Path

PACKAGE = "invertibility"


def imported_modules(source: str, package: str = PACKAGE, here: str = "") -> set[str]:
    """Dotted names inside ``package`` that ``source`` imports (``from .x import``, ``from . import
    x``, ``from ..x.y import``, ``import package.x.y``, ``from package.x import``, ``from package
    import x``); ``here``: the package the source lies in (``""`` for the top level,
    ``"claims"`` for ``claims/compare.py`` and ``claims/__init__.py``). A name may be an
    attribute rather than a module (``from .x import f`` yields ``x`` and ``x.f``):
    :func:`module_closure` keeps only the names that are files."""
    found = set()
    base = here.split(".") if here else []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package and len(parts) > 1:
                    found.add(".".join(parts[1:]))
        elif isinstance(node, ast.ImportFrom):
            parts = node.module.split(".") if node.module else []
            if node.level:
                up = len(base) - (node.level - 1)
                if up < 0:
                    continue
                target = base[:up] + parts
            elif parts and parts[0] == package:
                target = parts[1:]
            else:
                continue
            if target:
                found.add(".".join(target))
            found.update(".".join([*target, alias.name]) for alias in node.names)
    return found


def module_file(package_dir, name: str):
    """The source of dotted module ``name`` (a ``.py`` file or a package's ``__init__.py``), or
    None if ``name`` is no module of the package."""
    parts = name.split(".")
    folder = package_dir.joinpath(*parts[:-1]) if len(parts) > 1 else package_dir
    for candidate in (
        folder.joinpath(f"{parts[-1]}.py"),
        folder.joinpath(parts[-1], "__init__.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def module_closure(script: str | Path, package_dir=None) -> list[str]:
    """The package modules a script runs: its imports and theirs, transitively, sorted (a
    module of a sub-package brings the sub-package's ``__init__``)."""
    package_dir = package_dir or resources.files(PACKAGE)
    pending = imported_modules(Path(script).read_text())
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        source = module_file(package_dir, name)
        if name in seen or source is None:
            continue
        seen.add(name)
        here = name if source.name == "__init__.py" else name.rpartition(".")[0]
        parents = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        pending |= (imported_modules(source.read_text(), here=here) | parents) - seen
    return sorted(seen)


def code_version(script: str | Path, package_dir=None) -> str:
    """Hash of ``script`` and of the sources of every package module it runs."""
    package_dir = package_dir or resources.files(PACKAGE)
    digest = hashlib.sha256(Path(script).read_bytes())
    for module in module_closure(script, package_dir):
        digest.update(module.encode())
        digest.update(module_file(package_dir, module).read_bytes())
    return digest.hexdigest()[:16]
