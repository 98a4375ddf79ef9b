"""SqueezeNet 1.0 patch classifier (the FNAF paper's §3.8.2), key for key torchvision's.

torchvision does not install beside this project's pinned CPU torch, so the network is written
here with torchvision's module layout: ``features.*`` has the keys and shapes of
``torchvision.models.squeezenet1_0``, so ImageNet weights load from a local file
(:func:`load_imagenet_features`; nothing is downloaded). The 1000-way ``classifier.1`` is
replaced by a two-class head:

* ``head="paper"`` (default): 1×1 conv 512→512, ReLU, 1×1 conv 512→2, then global average
  pooling; softmax is in the loss and in :meth:`SqueezeNet.probabilities`.
* ``head="released"``: the released code's — 1×1 conv 512→512, Dropout(0.8), 1×1 conv 512→2,
  and torchvision's ReLU kept after it (on the logits).

torchvision's Dropout(0.5) before the head is kept in both. A one-channel patch ``(B, 1, P, P)``
is copied to three channels, as the released code did. A 32-px patch gives a 1×1 feature map, a
64-px patch 3×3.
"""

from __future__ import annotations

import warnings
from os import PathLike
from pathlib import Path

import torch
from torch import nn

from fnaf.io import load_torch
from fnaf.models.checkpoints import CheckpointError

HEADS = ("paper", "released")
#: The fine-tuning strategies of the paper's Tables 5-6.
STRATEGIES = ("head", "all", "scratch")


class Fire(nn.Module):
    """torchvision's Fire module: a 1×1 squeeze, then 1×1 and 3×3 expansions concatenated."""

    def __init__(self, inplanes: int, squeeze: int, expand1x1: int, expand3x3: int):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


def squeezenet1_0_features() -> nn.Sequential:
    """torchvision's ``squeezenet1_0().features`` (same indices, hence the same keys)."""
    return nn.Sequential(
        nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
        Fire(384, 64, 256, 256),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        Fire(512, 64, 256, 256))


class SqueezeNet(nn.Module):
    """SqueezeNet 1.0 with a two-class head; ``(B, 1 or 3, P, P)`` -> logits ``(B, 2)``."""

    def __init__(self, head: str = "paper", n_classes: int = 2):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; accepted: {list(HEADS)}")
        self.head = head
        self.features = squeezenet1_0_features()
        middle = nn.ReLU(inplace=True) if head == "paper" else nn.Dropout(p=0.8)
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Sequential(nn.Conv2d(512, 512, kernel_size=1), middle,
                          nn.Conv2d(512, n_classes, kernel_size=1)),
            nn.ReLU(inplace=True) if head == "released" else nn.Identity(),
            nn.AdaptiveAvgPool2d((1, 1)))
        for module in self.features.modules():  # torchvision's; the new head keeps torch's
            if isinstance(module, nn.Conv2d):  # default, as the released replacement did
                nn.init.kaiming_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return torch.flatten(self.classifier(self.features(x)), 1)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over the classes ``(B, 2)``; column 1 is the abnormal class."""
        return torch.softmax(self(x), dim=1)

    def apply_strategy(self, strategy: str) -> SqueezeNet:
        """``"head"``: train the new head only (the features frozen); ``"all"``: fine-tune every
        layer; ``"scratch"``: every layer, from random weights (do not load ImageNet's)."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; accepted: {list(STRATEGIES)}")
        for parameter in self.features.parameters():
            parameter.requires_grad_(strategy != "head")
        return self


def load_imagenet_features(model: SqueezeNet, path: str | PathLike | None) -> SqueezeNet:
    """Load the ``features.*`` of a torchvision ``squeezenet1_0`` ImageNet state_dict (a local
    file, e.g. ``squeezenet1_0-b66bff10.pth``) into ``model``; the head stays random.

    ``path`` None: warn once that the features start from random weights (nothing can be
    downloaded here). ``CheckpointError`` names the keys that differ for any other file.
    """
    if path is None:
        warnings.warn("no ImageNet SqueezeNet 1.0 weight file given: the features start from "
                      "random weights (pass the torchvision file's path to fine-tune as the "
                      "paper did)", stacklevel=2)
        return model
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weight file (nothing is downloaded at run time)")
    state = load_torch(path, "copy torchvision's squeezenet1_0 weight file again")
    features = {key[len("features."):]: value for key, value in state.items()
                if key.startswith("features.")}
    expected = model.features.state_dict()
    missing = sorted(set(expected) - set(features))
    shapes = sorted(key for key in set(expected) & set(features)
                    if features[key].shape != expected[key].shape)
    if missing or shapes:
        raise CheckpointError(f"{path}: not torchvision's SqueezeNet 1.0 features: missing "
                              f"features.{missing[:5]}, wrong shapes {shapes[:5]} (a "
                              f"SqueezeNet 1.1 file? it has other shapes)")
    model.features.load_state_dict(features)
    return model
