"""A generated image folder of drawn shapes (one class per shape), for running the ImageFolder
path with no images of one's own: the rehearsal of the paper's path (config/rehearsal.yaml,
tools/rehearsal_images.py) and the tests of a user's own folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SHAPES = ("circles", "squares", "bars", "rings")


def draw(kind: str, rng: np.random.Generator, size: int = 40) -> Image.Image:
    """A shape of ``kind`` (one of SHAPES) in a random colour at a random place on a dark
    background, ``size`` pixels square; its proportions do not depend on ``size``."""
    if kind not in SHAPES:
        raise ValueError(f"unknown shape {kind!r}: one of {', '.join(SHAPES)}")
    scale = size / 40
    pixels = np.full((size, size, 3), 20, dtype=np.uint8)
    x, y = rng.integers(round(8 * scale), size - round(8 * scale), size=2)
    colour = rng.integers(120, 256, size=3)
    rows, cols = np.mgrid[:size, :size]
    squared = (rows - y) ** 2 + (cols - x) ** 2
    if kind == "circles":
        mask = squared < 36 * scale**2
    elif kind == "squares":
        mask = (abs(rows - y) < 6 * scale) & (abs(cols - x) < 6 * scale)
    elif kind == "bars":
        mask = abs(cols - x) < 2 * scale
    else:
        mask = (squared < 49 * scale**2) & (squared >= 16 * scale**2)
    pixels[mask] = colour
    return Image.fromarray(pixels)


def write_shape_folder(
    root: str | Path, per_class: int, rng: np.random.Generator, classes=SHAPES[:3], size: int = 40
) -> list[Path]:
    """``per_class`` PNG images of each shape in ``classes``, one subfolder per class under
    ``root`` (an ImageFolder tree); returns the files written."""
    written = []
    for kind in classes:
        folder = Path(root) / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = folder / f"{kind}_{i:03d}.png"
            draw(kind, rng, size).save(path)
            written.append(path)
    return written
