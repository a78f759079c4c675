"""The networks: architectures, taps at a layer, checkpoints."""
