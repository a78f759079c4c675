"""Torch-free figures, one module per kind (its inputs, drawing and caption; shared style in
``style``): :data:`KINDS` is the registry the one ``figure`` rule draws from, in the order of the
schema's enum (a test keeps the two equal)."""

from . import (
    augmentation,
    claims_forest,
    claims_sensitivity,
    image_grid,
    invertibility_curves,
    norm_distances,
    predictors,
    training_diagnostics,
    width_horizons,
)

KINDS = {
    module.KIND.name: module.KIND
    for module in (
        image_grid,
        norm_distances,
        invertibility_curves,
        claims_forest,
        width_horizons,
        training_diagnostics,
        predictors,
        claims_sensitivity,
        augmentation,
    )
}
