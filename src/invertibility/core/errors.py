"""Errors a user can fix: raised with a message that names the config key, file or value."""


class ConfigError(ValueError):
    """The config asks for something impossible (unknown layer, step past an epoch, ...)."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated or corrupt."""


class DataError(RuntimeError):
    """A data source is missing or holds no usable images."""


class TrainingDiverged(RuntimeError):
    """A training's loss or weights became non-finite (its learning rate is too large for it)."""
