"""Reconstruction models (fastMRI-compatible weights) and weight loading."""

from fnaf.models.checkpoints import CheckpointError, load_state, load_weights
from fnaf.models.irim import IRIM, load_irim_checkpoint, metadata_one_hot
from fnaf.models.squeezenet import SqueezeNet, load_imagenet_features
from fnaf.models.unet import UNet
from fnaf.models.varnet import VarNet

#: Display names of the models, as the paper's tables write them.
MODEL_NAMES = {"unet": "U-Net", "irim": "I-RIM", "varnet": "VarNet"}

__all__ = ["IRIM", "MODEL_NAMES", "CheckpointError", "SqueezeNet", "UNet", "VarNet",
           "load_imagenet_features", "load_irim_checkpoint", "load_state", "load_weights",
           "metadata_one_hot"]
