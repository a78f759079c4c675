"""Torch-free analysis: measures, tables, statistics, claims, predictors."""
