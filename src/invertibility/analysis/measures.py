"""The invertibility measures, one registry: what each is, how it is computed, its chance level,
its range, its gate, what a diverged inversion makes of it, and how a side's seed reduces it to
one number. The schema's one ``measure`` enum, the tables and the claims all read this
(``tests/test_configs.py`` keeps the schema in step; docs/extending.md adds a measure).

The primary measure is ``retained`` (retained similarity, defined per seed, not per image):

    R = clip((c_tp - c_null) / (c_t - c_null), 0, 1)

with ``c`` a seed's mean over its images of the Pearson correlation of the reconstruction with
``x_i`` (:mod:`invertibility.analysis.recognition`), ``c_t`` that of the ``tp = t`` control (a
perfect target), ``c_null`` that of the other-image controls (another image's activations
inverted, compared with ``x_i``). ``R = 1``: nothing lost since ``t``; ``R = 0``: no closer to
``x_i`` than another image's reconstruction.

Two rules make ``R`` mean the same where an inversion fails as where it works:

* *The margin must be measurable.* ``c_t - c_null`` (the control's margin) is the denominator; a
  (seed, layer, t) whose margin is below :data:`MIN_MARGIN` or below :data:`MIN_MARGIN_Z` of its
  standard error over images has no ``R`` (NaN, counted and reported), so a small, noisy margin
  cannot blow a seed's ratio up. With the margin at least three standard errors, the
  denominator's relative error is at most a third; below 0.1 a perfect target's reconstruction
  is hardly more like ``x_i`` than an unrelated one's.
* *Not invertible is one value.* A failed reconstruction can be *less* like ``x_i`` than another
  image's reconstruction (a digit is like a digit), so the raw ratio runs far below 0 where an
  inversion fails, by how unlike the garbage is; ``R`` is limited to [0, 1] per seed
  (``retained_raw`` keeps the unlimited ratio). The limit biases a seed's ``R`` up near 0 and down
  near 1 (measured in ``tests/test_calibration.py``); every verdict on ``R`` is therefore also
  required of ``retained_raw`` (an intersection-union test: the larger p counts), so the bias
  cannot create a verdict.

Unlike top-1 identification, ``R`` has no ceiling at 1 that a layer reaches at every step, a
known null (0), and it is relative to each side's own control, so "stays invertible longer" is
not mixed with "inverts at all". ``R``, :data:`INVERTIBLE` and the claims' levels were chosen
before any claim was evaluated on them; the margin rule and the limit to [0, 1] were added after
the three-seed tables of the default run were seen (they showed ``R`` of -0.7 to -1.6 where
AlexNet's conv5 fails), and were fixed on simulation before the verdict-grade run.

``excess`` (``E = c_tp - c_null``, no division) and ``retained_identity`` (the null is the
reconstruction's correlation with the other held-out images of ``x_i``'s class: what is retained
is the image, not only its class) are exploratory companions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.vocabulary import OTHER_IMAGE

INF = float("inf")
GATES = {"margin": "margin_ok", "identity": "identity_ok", "label": "label_ok"}


def identified_from(rank: str) -> Callable[[pd.DataFrame], pd.arrays.BooleanArray]:
    """``x_i`` ranks first (``rank`` 0), NA where the rank is unknown (a diverged inversion)."""

    def derive(rows: pd.DataFrame) -> pd.arrays.BooleanArray:
        values = rows[rank].to_numpy(dtype=float)
        return pd.array(np.where(np.isnan(values), None, values == 0), dtype="boolean")

    return derive


def ssim_gain(rows: pd.DataFrame) -> pd.Series:
    """SSIM minus the mean SSIM of the same image's other-image controls."""
    keys = ["model", "seed", "layer", "t", "image_id"]
    other = rows[rows["tp"] == OTHER_IMAGE].groupby(keys)["ssim"].mean().rename("ssim_other")
    return rows["ssim"] - rows.join(other, on=keys)["ssim_other"]


def label_kept(rows: pd.DataFrame) -> pd.arrays.BooleanArray:
    """The label judge's class (else the classifier step's) is ``x_i``'s; NA for a photo and a
    row whose image is not measured in its unit (``excluded``: a diverged inversion among them,
    :func:`~invertibility.analysis.retention.excluded`)."""
    decided = rows["label_judge"].astype("Int64").fillna(rows["label_final"]).astype("int64")
    kept = decided == rows["label"]
    return pd.array(
        np.where(rows["photo"] | rows["excluded"].astype(bool), None, kept), dtype="boolean"
    )


@dataclass(frozen=True)
class Measure:
    name: str
    description: str
    per_image: bool = True  # a column of the invertibility table (else derived per seed)
    relative: bool = False  # a side's seed value is minus its tp = t control's
    chance: str = ""  # its level for an unrelated reconstruction
    raw: str = ""  # the unlimited version every verdict on this measure also needs
    retains_above: float | None = None  # the value at which nothing is retained
    # the control a side must pass (a key of GATES): "margin" (c_t - c_null measurable),
    # "identity" (the same-class margin), "label" (the tp = t control keeps labels above chance)
    gate: str = "margin"
    # the range of a seed's value (intervals clip to it); unbounded unless declared, so that a
    # measure on another scale is never clipped to a range it does not have
    bounds: tuple[float, float] = (-INF, INF)
    ratio: bool = False  # on R's scale (0 nothing retained, 1 all): a threshold's level applies
    # a distance pair (Figure 6, Section 4) carries it: what counts as invertible there, or what
    # the norm distance is correlated with
    on_pairs: bool = False
    dtype: str = "float64"  # its column's dtype in the invertibility table (per-image measures)
    blank: tuple[str, ...] = ()  # the row columns it is read from, blanked where a row is excluded
    # computed in the invertibility table from its other columns (after blanking); None: a
    # column the inversion rows carry (recognition.row_measures, the files) or, per seed,
    # retention.retention_table
    derive: Callable[[pd.DataFrame], object] | None = None

    @property
    def margin_gated(self) -> bool:
        """Gated by a similarity margin (its own or the same-class one), not by labels."""
        return self.gate != "label"

    @property
    def gate_column(self) -> str:
        return GATES[self.gate]

    def difference_bounds(self) -> tuple[float, float]:
        """The range of a difference of two seed values."""
        low, high = self.bounds
        return (low - high, high - low)


MEASURES = {
    m.name: m
    for m in (
        Measure(
            "retained",
            "retained similarity (c_tp - c_null) / (c_t - c_null) of per-seed means, limited to "
            "[0, 1]",
            per_image=False,
            chance="0",
            raw="retained_raw",
            retains_above=0.0,
            bounds=(0.0, 1.0),
            ratio=True,
        ),
        Measure(
            "retained_raw",
            "retained similarity, not limited to [0, 1]",
            per_image=False,
            chance="0",
            retains_above=0.0,
            bounds=(-INF, INF),
        ),
        Measure(
            "excess",
            "excess similarity c_tp - c_null of per-seed means (no division)",
            per_image=False,
            chance="0",
            retains_above=0.0,
            bounds=(-2.0, 2.0),
        ),
        Measure(
            "retained_identity",
            "retained similarity against a same-class null: (c_tp - k_tp) / (c_t - k_t), k the "
            "reconstruction's mean correlation with the other held-out images of x_i's class, "
            "limited to [0, 1]",
            per_image=False,
            chance="0",
            raw="retained_identity_raw",
            retains_above=0.0,
            gate="identity",
            bounds=(0.0, 1.0),
            ratio=True,
        ),
        Measure(
            "retained_identity_raw",
            "retained similarity against a same-class null, not limited to [0, 1]",
            per_image=False,
            chance="0",
            retains_above=0.0,
            gate="identity",
            bounds=(-INF, INF),
        ),
        Measure(
            "similarity",
            "Pearson correlation of x* with x_i (pixels)",
            chance="c_null",
            blank=("similarity",),
            bounds=(-1.0, 1.0),
            on_pairs=True,
        ),
        Measure(
            "similarity_class",
            "mean Pearson correlation of x* with the other held-out images of x_i's class",
            blank=("similarity_class",),
            bounds=(-1.0, 1.0),
        ),
        Measure(
            "identified",
            "x_i ranks first among itself and K - 1 drawn candidates",
            chance="1/K",
            bounds=(0.0, 1.0),
            ratio=True,
            dtype="boolean",
            blank=("rank",),
            derive=identified_from("rank"),
            on_pairs=True,
        ),
        Measure(
            "id_score",
            "1 - rank / (K - 1) among the drawn candidates",
            chance="0.5",
            bounds=(0.0, 1.0),
            blank=("rank",),
            derive=lambda rows: 1.0 - rows["rank"] / (rows["n_candidates"] - 1),
        ),
        Measure(
            "identified_all",
            "x_i ranks first among every held-out image",
            chance="1/N",
            bounds=(0.0, 1.0),
            ratio=True,
            dtype="boolean",
            blank=("rank_all",),
            derive=identified_from("rank_all"),
            on_pairs=True,
        ),
        Measure(
            "identified_class",
            "x_i ranks first among the held-out images of its own class",
            chance="1/(images per class)",
            bounds=(0.0, 1.0),
            ratio=True,
            dtype="boolean",
            blank=("rank_class",),
            derive=identified_from("rank_class"),
            on_pairs=True,
        ),
        Measure(
            "ssim",
            "SSIM of x* and x_i (unclipped, pixel space)",
            blank=("ssim",),
            bounds=(-1.0, 1.0),
            on_pairs=True,
        ),
        Measure(
            "ssim_gain",
            "SSIM minus the mean SSIM of the image's other-image controls",
            retains_above=0.0,
            bounds=(-2.0, 2.0),
            derive=ssim_gain,
        ),
        Measure(
            "label_kept",
            "the classifier-step network gives x* x_i's class, minus the tp = t control's rate",
            relative=True,
            gate="label",
            dtype="boolean",
            derive=label_kept,
            bounds=(-1.0, 1.0),  # a difference of two rates
        ),
        Measure(
            "image_error",
            "||x* - x_i|| / ||x_i||, pixel space",
            bounds=(0.0, INF),
            blank=("image_error",),
        ),
        Measure(
            "feature_error",
            "||Phi0 - r_l^t(x*)|| / ||Phi0||",
            bounds=(0.0, INF),
            blank=("feature_error",),
        ),
    )
}
PER_IMAGE = tuple(name for name, m in MEASURES.items() if m.per_image)
PER_SEED = tuple(name for name, m in MEASURES.items() if not m.per_image)
INVERTIBLE = 0.5  # R at or above: the layer at tp is still invertible (keeps half its margin)
FLOOR_ROOM = 0.2  # a loss is measurable only where the cross-seed floor keeps R <= 1 - this
MIN_MARGIN = 0.1  # c_t - c_null below this: the inversion hardly works, R is not defined
MIN_MARGIN_Z = 3.0  # ... or below this many standard errors over the seed's images
MARGIN_RATIO = 2.0  # two sides' margins further apart than this: E's verdict shown beside R's
MIN_RELIABILITY = 0.3  # a correlation claim's measure must be at least this reliable
