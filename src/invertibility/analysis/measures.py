"""The invertibility measures, one registry: what each is, how it is computed, its chance level,
and how a side's seed reduces it to one number. The schema's ``measure`` enums, the tables and the
claims all read this (``tests/test_measures.py`` keeps the schema in step).

The primary measure is ``retained`` (retained similarity, defined per seed, not per image):

    R = (c_tp - c_null) / (c_t - c_null)

with ``c`` a seed's mean over its images of the Pearson correlation of the reconstruction with
``x_i`` (:mod:`invertibility.analysis.recognition`), ``c_t`` that of the ``tp = t`` control (a
perfect
target), ``c_null`` that of the other-image controls (another image's activations inverted,
compared with ``x_i``). ``R = 1``: nothing lost since ``t``; ``R = 0``: no closer to ``x_i`` than
another image's reconstruction. Unlike top-1 identification it has no ceiling at 1 that a
layer reaches at every step, a known null (0), and it is relative to each side's own control, so
"stays invertible longer" is not mixed with "inverts at all". It was chosen, with
:data:`INVERTIBLE` and the claims' levels, before any claim was evaluated on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    name: str
    description: str
    per_image: bool = True  # a column of the invertibility table (else derived per seed)
    relative: bool = False  # a side's seed value is minus its tp = t control's
    chance: str = ""  # its level for an unrelated reconstruction


MEASURES = {
    m.name: m
    for m in (
        Measure(
            "retained",
            "retained similarity (c_tp - c_null) / (c_t - c_null), a ratio of per-seed means",
            per_image=False,
            chance="0",
        ),
        Measure("similarity", "Pearson correlation of x* with x_i (pixels)", chance="c_null"),
        Measure(
            "identified", "x_i ranks first among itself and K - 1 drawn candidates", chance="1/K"
        ),
        Measure("id_score", "1 - rank / (K - 1) among the drawn candidates", chance="0.5"),
        Measure("identified_all", "x_i ranks first among every held-out image", chance="1/N"),
        Measure(
            "identified_class",
            "x_i ranks first among the held-out images of its own class",
            chance="1/(images per class)",
        ),
        Measure("ssim", "SSIM of x* and x_i (unclipped, pixel space)"),
        Measure("ssim_gain", "SSIM minus the mean SSIM of the image's other-image controls"),
        Measure(
            "label_kept",
            "the classifier-step network gives x* x_i's class, minus the tp = t control's rate",
            relative=True,
        ),
        Measure("image_error", "||x* - x_i|| / ||x_i||, pixel space"),
        Measure("feature_error", "||Phi0 - r_l^t(x*)|| / ||Phi0||"),
    )
}
PER_IMAGE = tuple(name for name, m in MEASURES.items() if m.per_image)
INVERTIBLE = 0.5  # R at or above: the layer at tp is still invertible (keeps half its margin)
MIN_MARGIN = 0.2  # a loss is measurable only where the cross-seed floor keeps R <= 1 - this
