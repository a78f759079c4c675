"""A config's schema violation as one line: the key path, what is wrong, and what the key is
(its schema description), instead of Snakemake's dump of the whole schema."""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from ..core.errors import ConfigError
from .validation import check_step_labels_are_strings


def _described(schema: dict, root: dict, error) -> str:
    """The description of the key the error is about (or of its parent object)."""
    node = error.schema if "description" in error.schema else {}
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((k for k in error.validator_value if k not in error.instance), None)
        target = error.schema.get("properties", {}).get(missing, {})
        if "$ref" in target:
            target = root["$defs"][target["$ref"].rsplit("/", 1)[-1]]
        node = target
    return node.get("description", "")


def check_schema(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError naming the first (most relevant) schema violation of ``config`` (an
    unquoted step label first: the schema would only say that a number is not a string)."""
    check_step_labels_are_strings(config)
    schema = yaml.safe_load(Path(schema_path).read_text())
    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return
    where = ".".join(str(part) for part in error.absolute_path) or "the config"
    what = error.message
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        what = f"{missing!r} is required"
        where = f"{where}.{missing}" if error.absolute_path else missing
    elif error.validator == "additionalProperties":
        what = f"unknown key(s): {what.split('(')[-1].rstrip(')')}"
    description = " ".join(_described(schema, schema, error).split())
    raise ConfigError(f"{where}: {what}" + (f": {description}" if description else ""))
