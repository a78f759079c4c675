"""Words both sides of the pipeline share (the torch side and the analysis side).

A leaf module: it imports nothing of the package and no third-party library, so that the tables,
claims and figures import it without pulling in torch.
"""

from __future__ import annotations

import json

# The activation-step slot of the other-image control: Phi0 = r_l^t(x_j), x_j of another class.
OTHER_IMAGE = "other_image"


def canonical(value) -> str:
    """JSON with sorted keys: equal configs give equal strings, whatever their key order."""
    return json.dumps(value, sort_keys=True)
