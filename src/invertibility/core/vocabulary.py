"""Words both sides of the pipeline share (the torch side and the analysis side).

A leaf module: it imports nothing of the package and no third-party library, so that the tables,
claims and figures import it without pulling in torch.
"""

from __future__ import annotations

import json

# The activation-step slots of the two controls of every (model, seed, layer, t):
# other-image: Phi0 = r_l^t(x_j) for held-out images x_j of another class (several per image);
# cross-seed: Phi0 = r_l^t(x_i) of another training seed of the same architecture (the floor).
OTHER_IMAGE = "other_image"
CROSS_SEED = "cross_seed"
CONTROLS = (OTHER_IMAGE, CROSS_SEED)


def canonical(value) -> str:
    """JSON with sorted keys: equal configs give equal strings, whatever their key order."""
    return json.dumps(value, sort_keys=True)
