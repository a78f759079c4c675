import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def load_config(path: Path) -> dict:
    from snakemake.utils import validate  # imported here: unit tests run without snakemake

    config = yaml.safe_load(path.read_text())
    validate(config, str(SCHEMA))
    return config


def merge_configs(*paths: Path) -> dict:
    """Config files merged as Snakemake merges --configfile files: each into the config so far,
    starting from an empty one (dicts key by key, lists replaced; a YAML alias's dict is copied,
    not shared), then validated."""
    from snakemake.utils import update_config, validate

    config: dict = {}
    for path in paths:
        update_config(config, yaml.safe_load(Path(path).read_text()))
    validate(config, str(SCHEMA))
    return config


@pytest.fixture
def test_config() -> dict:
    return load_config(ROOT / "config" / "test.yaml")


@pytest.fixture
def default_config() -> dict:
    return load_config(ROOT / "config.yaml")


def snakemake_command(workdir, *args, config=ROOT / "config" / "test.yaml") -> list[str]:
    """The command line of a Snakemake run of this workflow in ``workdir``; ``config``: a config
    file, or a list of them (merged in order)."""
    configs = config if isinstance(config, list | tuple) else [config]
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        "--configfile",
        *map(str, configs),
        "--directory",
        str(workdir),
        *args,
    ]


def run_snakemake(workdir, *args, config=ROOT / "config" / "test.yaml", check=True, timeout=1200):
    run = subprocess.run(
        snakemake_command(workdir, *args, config=config),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and run.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    return run


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("e2e")
    run_snakemake(workdir)
    return workdir


def planned_rules(dry_run_output: str) -> set[str]:
    """The rule names in the job-stats table of ``snakemake -n --quiet rules``."""
    import re

    return set(re.findall(r"^(\w+)\s+\d+$", dry_run_output, flags=re.MULTILINE)) - {"total"}


def sbatch_stubs(tmp_path):
    """Stand-ins for the SLURM commands the plugin calls: sbatch records the request and
    refuses it. Returns (environment, the file of recorded requests)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "sbatch_args"
    commands = {
        "sbatch": f'echo "$@" >> {record}\necho "stub: refused" >&2\nexit 1',
        **{name: "exit 0" for name in ("sacct", "sacctmgr", "squeue", "scontrol", "sinfo")},
    }
    for name, body in commands.items():
        stub = bin_dir / name
        stub.write_text(f"#!/bin/sh\n{body}\n")
        stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, record


STUB_OPTIONS = [
    "--profile",
    "profiles/slurm",
    "--slurm-no-account",
    "--slurm-status-command",
    "squeue",
    "--retries",
    "0",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--default-resources",
    "slurm_partition=gpu",
]
