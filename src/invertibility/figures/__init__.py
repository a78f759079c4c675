"""Torch-free figures: image grids, the analysis figures and the diagnostics'."""
