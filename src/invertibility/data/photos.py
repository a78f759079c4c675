"""Natural photos whose files ship inside scikit-image's wheel (nothing downloaded at run time),
inverted beside a dataset's images; the config checks name a wrong one's key."""

from __future__ import annotations

import numpy as np
import torch

from .pixels import match_channels, resize, standardize

PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "microaneurysms",
    "moon",
    "page",
    "retina",
    "rocket",
    "stereo_motorcycle",
    "text",
)


def photo(name: str, spec: dict) -> torch.Tensor:
    """Photo ``name`` (one of :data:`PHOTOS`), center-cropped, resized and standardized for
    dataset entry ``spec``."""
    import skimage.data

    if name not in PHOTOS:  # the config checks name the key; this guards other callers
        raise ValueError(f"{name!r} is not one of the photos: {', '.join(PHOTOS)}")
    array = getattr(skimage.data, name)()
    array = array[0] if isinstance(array, tuple) else array  # stereo pairs: the left image
    pixels = torch.from_numpy(np.ascontiguousarray(array)).float() / 255.0
    pixels = pixels.unsqueeze(0) if pixels.ndim == 2 else pixels.permute(2, 0, 1)[:3]
    side = min(pixels.shape[-2:])
    top, left = (pixels.shape[-2] - side) // 2, (pixels.shape[-1] - side) // 2
    square = pixels[None, :, top : top + side, left : left + side]
    square = match_channels(
        square.expand(-1, 3, -1, -1) if square.shape[1] == 1 else square, spec["channels"]
    )
    return standardize(resize(square, spec["image_size"])[0], spec)
