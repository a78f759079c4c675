"""Dataset sources, one module each, registered by the name a dataset entry's ``source`` gives.

Adding one: a module with a ``SOURCE = DatasetSource(...)`` (see :mod:`.source`), its name here
and in the schema's ``dataset.source`` enum (a test checks that the two agree).
"""

from __future__ import annotations

from . import imagefolder, mnist
from .source import DatasetSource

SOURCES: dict[str, DatasetSource] = {s.SOURCE.name: s.SOURCE for s in (mnist, imagefolder)}


def source_of(spec: dict) -> DatasetSource:
    """The source of dataset entry ``spec``."""
    try:
        return SOURCES[spec["source"]]
    except KeyError:
        raise KeyError(
            f"unknown dataset source {spec['source']!r}; the sources are {', '.join(SOURCES)}"
        ) from None
