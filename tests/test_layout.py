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
    "planning": {"core", "data", "nets", "analysis", "figures"},  # kinds check their entries
    "analysis": {"core"},
    "figures": {"core", "analysis"},  # a figure may summarize over seeds with stats
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


def resnet_chunk(tmp_path):
    """A chunk of the test config's ResNet (three targets and two controls): the inversion job
    with the most networks; its spec, its inputs and its output files."""
    from conftest import ROOT, load_config

    from invertibility.core import paths
    from invertibility.planning.plan import Plan

    config = load_config(ROOT / "config" / "test.yaml")
    config["models"]["resnet18_nobn"]["invert_chunk"] = 8
    plan = Plan(config)
    chunk = next(c for c in plan.inversions.chunks if c.model == "resnet18_nobn" and c.seed == 0)
    spec = plan.inversions.spec(chunk)
    outputs = [str(tmp_path / f"{tp}.npz") for tp in chunk.tps]
    return spec, {"images": paths.images("resnet18_nobn")}, outputs


@pytest.mark.slow
def test_an_inversion_job_enters_each_module_it_needs_once(finished_run, tmp_path, monkeypatch):
    """Traced at run time (``sys.setprofile``): the package modules that the invert job's own
    code calls into (the nearest package caller of a call is the job's module; torch's frames
    in between do not count) are at most 7, the images are read in one call and each network
    in one of its own, and after the optimization the job comes back to a module only to use
    what it already holds."""
    import sys

    from invertibility.jobs import invert_job

    spec, inputs, outputs = resnet_chunk(tmp_path)
    job = "jobs.invert_job"

    def module(frame):
        name = frame.f_code.co_filename
        return (
            name[len(str(PACKAGE)) + 1 : -3].replace("/", ".")
            if name.startswith(str(PACKAGE))
            else None
        )

    entered: list[tuple[str, str]] = []

    def profile(frame, event, _arg):
        if event != "call" or module(frame) in (None, job):
            return
        caller = frame.f_back
        while caller is not None and module(caller) is None:
            caller = caller.f_back
        if caller is not None and module(caller) == job:
            entered.append((module(frame), frame.f_code.co_name))

    monkeypatch.chdir(finished_run)
    sys.setprofile(profile)
    try:
        invert_job.run_inversion(spec, inputs, outputs, progress=False)
    finally:
        sys.setprofile(None)
    visits = [
        name
        for index, (name, _) in enumerate(entered)
        if index == 0 or entered[index - 1][0] != name
    ]
    assert len(set(visits)) <= 7, visits
    calls = [function for _, function in entered]
    networks = 2 + sum("target" in entry["checkpoints"] for entry in spec["targets"])
    assert calls.count("load") == 1 and calls.count("load_network") == networks, entered
    # the job comes back to the checkpoints' module only to read the next network; after the
    # optimization it goes back only to map and judge what it reconstructed: the images' module
    # (to pixels) and the forward passes' (the classifier's labels)
    again = {name for name in visits if visits.count(name) > 1}
    assert again <= {"data.image_sets", "nets.taps", "nets.checkpoints"}, visits
    after = entered[[name for name, _ in entered].index("methods.inversion") :]
    assert {function for name, function in after if name in again} <= {"to_pixels", "predict"}
    assert all(Path(output).is_file() for output in outputs)


@pytest.mark.slow
def test_an_inversion_job_holds_two_networks_at_a_time(finished_run, tmp_path, monkeypatch):
    """A chunk reads each step's target network after the one before is freed, and the
    classifier after the targets: when a network is read, at most one other (the function
    r_l^t) is alive, however many steps the chunk inverts (with every network read at once,
    a wide-MLP chunk of five steps, six networks, peaked at 3.8 GB)."""
    import gc
    import weakref

    from invertibility.jobs import invert_job

    spec, inputs, outputs = resnet_chunk(tmp_path)
    read = invert_job.load_network
    loaded: list[weakref.ref] = []
    alive_at_each_read: list[int] = []

    def counted_read(*args, **kwargs):
        gc.collect()
        alive_at_each_read.append(sum(ref() is not None for ref in loaded))
        network = read(*args, **kwargs)
        loaded.append(weakref.ref(network))
        return network

    monkeypatch.setattr(invert_job, "load_network", counted_read)
    monkeypatch.chdir(finished_run)
    invert_job.run_inversion(spec, inputs, outputs, progress=False)
    targets = sum("target" in entry["checkpoints"] for entry in spec["targets"])
    assert targets >= 3 and len(alive_at_each_read) == 2 + targets
    assert alive_at_each_read == [0] + [1] * (targets + 1), alive_at_each_read
