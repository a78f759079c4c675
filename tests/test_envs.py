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
