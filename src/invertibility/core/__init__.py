"""Torch- and pandas-free leaves every side shares: vocabulary, steps, paths, errors, atomic
writes, logs, provenance, the inversion file format and settings."""
