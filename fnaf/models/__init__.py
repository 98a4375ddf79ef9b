"""Reconstruction models (fastMRI-compatible weights) and weight loading."""

from fnaf.models.checkpoints import CheckpointError, load_weights
from fnaf.models.unet import UNet

__all__ = ["CheckpointError", "UNet", "load_weights"]
