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


@pytest.fixture
def test_config() -> dict:
    return load_config(ROOT / "config" / "test.yaml")


@pytest.fixture
def default_config() -> dict:
    return load_config(ROOT / "config.yaml")
