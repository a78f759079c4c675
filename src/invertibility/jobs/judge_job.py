"""One label-judge job per dataset: the class that one network, trained for the purpose,
gives every reconstruction of every model on that dataset (``label_kept`` then means the same
for every side of a claim, instead of each network judging its own reconstructions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..core.atomic import atomic_path
from ..core.inversion_io import load_inversion
from ..nets.checkpoints import load_network
from ..nets.taps import predict
from .device import start_job

JUDGED_COLUMNS = {
    "model": "string",
    "seed": "int64",
    "layer": "string",
    "t": "string",
    "tp": "string",
    "image_id": "string",
    "target_image_id": "string",
    "label_judge": "int64",  # the judge's class for x* (-1: diverged)
}


def judge_labels(
    spec: dict, inversions: list[str], output: str, threads: int = 1, jobs_per_gpu: int = 1
) -> None:
    device = start_job(threads, spec["device"], jobs_per_gpu)
    judge = load_network(spec["network"], spec["checkpoint"]).to(device)
    mean = torch.tensor(spec["mean"], dtype=torch.float32).reshape(1, -1, 1, 1)
    std = torch.tensor(spec["std"], dtype=torch.float32).reshape(1, -1, 1, 1)
    frames = []
    for path in tqdm(inversions, desc=f"judging {spec['dataset']}", mininterval=5):
        r = load_inversion(path)
        pixels = torch.from_numpy(r["reconstructions"])
        labels = predict(judge, (pixels - mean) / std).numpy()
        frames.append(
            pd.DataFrame(
                {
                    **{key: r[key] for key in ("model", "seed", "layer", "t", "tp")},
                    "image_id": r["image_id"],
                    "target_image_id": r["target_image_id"],
                    "label_judge": labels.astype(np.int64),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = frame.reindex(columns=list(JUDGED_COLUMNS)).astype(JUDGED_COLUMNS)
    with atomic_path(output) as tmp:
        frame.to_parquet(tmp, index=False)
