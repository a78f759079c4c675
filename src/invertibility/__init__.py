"""Reproduce 'Neural Networks Preserve Invertibility Across Iterations' as a pipeline."""

__version__ = "0.1.0"
