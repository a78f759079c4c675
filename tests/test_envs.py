"""The conda envs of the rules and pyproject.toml must agree on packages and version ranges."""

import re

import pytest
import tomllib
import yaml
from conftest import ROOT

CONDA_TO_PYPI = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
LAUNCHER_ONLY = {"snakemake", "snakemake-executor-plugin-slurm"}  # run Snakemake, not the jobs


def requirement(text: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", text)
    return match[1].lower(), match[2].replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(requirement(dep) for dep in project["dependencies"])


def conda_requirements(env: str) -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "envs" / env).read_text())
    deps = {}
    for dep in spec["dependencies"]:
        if isinstance(dep, str):
            name, version = requirement(dep)
            if name not in ("python", "pip"):
                deps[CONDA_TO_PYPI.get(name, name)] = version
    return deps


@pytest.mark.parametrize("env", ["torch.yaml", "plots.yaml"])
def test_env_packages_match_pyproject_versions(env):
    pyproject = pyproject_requirements()
    for name, version in conda_requirements(env).items():
        assert name in pyproject, f"{env}: {name} is not a dependency in pyproject.toml"
        assert version == pyproject[name], f"{env}: {name} {version} != pyproject {pyproject[name]}"


def test_torch_env_has_every_job_dependency():
    missing = set(pyproject_requirements()) - LAUNCHER_ONLY - set(conda_requirements("torch.yaml"))
    assert not missing, f"envs/torch.yaml lacks {sorted(missing)}"


def test_every_rule_names_an_existing_env():
    for smk in (ROOT / "rules").glob("*.smk"):
        text = smk.read_text()
        for env in re.findall(r'conda:\s*\n\s*"\.\./envs/([\w.]+)"', text):
            assert (ROOT / "envs" / env).is_file(), f"{smk.name}: envs/{env} missing"
        assert text.count("conda:") == text.count("script:"), f"{smk.name}: a rule lacks conda"


# --- what each rule's script imports, and whether its env provides it -------------------------

IMPORT_TO_PACKAGE = {
    "torch": "torch",
    "torchvision": "torchvision",
    "numpy": "numpy",
    "pandas": "pandas",
    "matplotlib": "matplotlib",
    "seaborn": "seaborn",
    "safetensors": "safetensors",
    "tqdm": "tqdm",
    "mlxtend": "mlxtend",
    "skimage": "scikit-image",
    "PIL": "pillow",
    "yaml": "pyyaml",
}


def rule_scripts() -> dict[str, str]:
    """Script file -> env file, for every rule in rules/*.smk."""
    found = {}
    for smk in (ROOT / "rules").glob("*.smk"):
        text = smk.read_text()
        pairs = re.findall(
            r'conda:\s*\n\s*"\.\./envs/([\w.]+)".*?script:\s*\n\s*"\.\./workflow/scripts/([\w.]+)"',
            text,
            re.S,
        )
        found.update({script: env for env, script in pairs})
    return found


def third_party_imports(path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(IMPORT_TO_PACKAGE)


def test_every_rule_script_is_found():
    scripts = rule_scripts()
    assert set(scripts) == {p.name for p in (ROOT / "workflow" / "scripts").glob("*.py")}
    assert scripts["invert.py"] == "torch.yaml"
    assert scripts["figure.py"] == "plots.yaml"


@pytest.mark.parametrize("script", sorted(rule_scripts()))
def test_each_env_lists_what_its_rules_import(script):
    from invertibility.core.provenance import module_closure, module_file

    package = ROOT / "src" / "invertibility"
    path = ROOT / "workflow" / "scripts" / script
    files = [path] + [module_file(package, m) for m in module_closure(path, package)]
    needed = {IMPORT_TO_PACKAGE[name] for f in files for name in third_party_imports(f)}
    env = rule_scripts()[script]
    missing = needed - set(conda_requirements(env))
    assert not missing, f"{script} imports {sorted(missing)}, which envs/{env} lacks"


def test_plots_rules_run_without_torch():
    """Every module a plots-env rule runs imports with torch made unimportable."""
    import subprocess
    import sys

    scripts = [s for s, env in rule_scripts().items() if env == "plots.yaml"]
    assert {"figure.py", "claims.py", "invertibility_tables.py", "predictors.py"} <= set(scripts)
    code = (
        "import importlib.abc, runpy, sys\n"
        "class NoTorch(importlib.abc.MetaPathFinder):  # as if torch were not installed\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'torchvision'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        f"for script in {[str(ROOT / 'workflow' / 'scripts' / s) for s in scripts]!r}:\n"
        "    runpy.run_path(script, run_name='not_main')\n"
        "import invertibility.analysis.tables, invertibility.analysis.claims\n"
        "import invertibility.figures, invertibility.figures.style\n"
        "assert 'torch' not in sys.modules\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]


def test_an_inversion_job_imports_only_what_it_runs():
    """The invert script's modules, with both conv nets built, load no torchvision (1.3 s of
    torch._dynamo), pandas, matplotlib, scikit-image, mlxtend or the planner."""
    import subprocess
    import sys

    code = (
        "import runpy, sys\n"
        f"runpy.run_path({str(ROOT / 'workflow' / 'scripts' / 'invert.py')!r}, run_name='x')\n"
        "from invertibility.nets.models import build_model\n"
        "build_model('alexnet', 10, (3, 64, 64)); build_model('resnet18_nobn', 10, (3, 64, 64))\n"
        "heavy = {'torchvision', 'pandas', 'matplotlib', 'skimage', 'mlxtend',\n"
        "         'invertibility.planning.plan', 'invertibility.planning.validation',\n"
        "         'invertibility.data.datasets'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "[]", run.stdout
