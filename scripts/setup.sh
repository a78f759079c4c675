#!/usr/bin/env bash
# Create .venv with the package and its dependencies (torch, torchvision, snakemake, ...).
# Needs Python >= 3.10 and about 7 GB of free disk (torchvision pulls a CUDA build of torch).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "set up .venv: $(.venv/bin/python -c 'import torch, snakemake; print("torch", torch.__version__, "snakemake", snakemake.__version__)')"
