"""The package's shape: every module lives in one side (a sub-package), and a side imports only
the sides the layout allows (docs/development.md, "Layout"). Read from the imports themselves,
those inside functions included, so that a new module or import is checked without a list."""

import ast
from pathlib import Path

import pytest

import invertibility
from invertibility.core.provenance import imported_modules, module_file

PACKAGE = Path(invertibility.__file__).parent
# side -> the other sides it may import; torch and pandas stay out of the analysis side's way
ALLOWED = {
    "core": set(),
    "data": {"core"},
    "nets": {"core"},
    "methods": {"core", "nets"},
    "jobs": {"core", "data", "nets", "methods"},
    "planning": {"core", "data", "nets", "analysis"},  # the claims' kinds check their entries
    "analysis": {"core"},
    "figures": {"core"},
}
TORCH_FREE = {"core", "analysis", "figures"}
PANDAS_FREE = {"core"}


def modules_of(side: str) -> list[Path]:
    return sorted((PACKAGE / side).rglob("*.py"))


def third_party(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_module_lives_in_a_side():
    top = {path.name for path in PACKAGE.glob("*.py")}
    assert top == {"__init__.py"}, top
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert folders == set(ALLOWED), folders


@pytest.mark.parametrize("side", sorted(ALLOWED))
def test_a_side_imports_only_the_sides_it_may(side):
    for path in modules_of(side):
        here = ".".join(path.relative_to(PACKAGE).parts[:-1])
        imported = {
            name.split(".")[0]
            for name in imported_modules(path.read_text(), here=here)
            if module_file(PACKAGE, name) is not None
        }
        assert imported <= ALLOWED[side] | {side}, (path.name, imported - ALLOWED[side] - {side})
        libraries = third_party(path.read_text())
        if side in TORCH_FREE:
            assert not libraries & {"torch", "torchvision"}, path
        if side in PANDAS_FREE:
            assert not libraries & {"pandas", "matplotlib", "seaborn"}, path


def test_the_layout_check_sees_a_forbidden_import():
    """The check reads relative imports two levels up: analysis/claims reaching nets is caught."""
    source = "from ...nets.models import build_model\nfrom ..stats import t_interval\n"
    imported = {name.split(".")[0] for name in imported_modules(source, here="analysis.claims")}
    assert imported == {"nets", "analysis"}
    assert not imported <= ALLOWED["analysis"] | {"analysis"}
