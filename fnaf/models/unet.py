"""fastMRI's U-Net (``fastmri.models.Unet``), layer for layer, so its weights load unchanged.

Encoder: ``num_pool_layers`` blocks of two 3x3 convolutions (no bias) with instance norm,
LeakyReLU(0.2) and dropout, each followed by 2x2 average pooling; bottleneck block; decoder:
2x2 transposed convolution (no bias) + instance norm + LeakyReLU, reflect-padding by one pixel
where pooling floored an odd size, concatenation ``[upsampled, skip]`` and a conv block; a 1x1
convolution with bias at the end. Attribute names and ``nn.Sequential`` indices (including the
parameter-free slots) match fastMRI, so ``state_dict`` keys and shapes are identical.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBlock(nn.Module):
    """Two 3x3 convolutions, each with instance norm, LeakyReLU(0.2) and dropout."""

    def __init__(self, in_chans: int, out_chans: int, drop_prob: float):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_chans, out_chans, kernel_size=3, padding=1, bias=False),
            nn.InstanceNorm2d(out_chans),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Dropout2d(drop_prob),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            nn.InstanceNorm2d(out_chans),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Dropout2d(drop_prob),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.layers(image)


class TransposeConvBlock(nn.Module):
    """2x2 stride-2 transposed convolution, instance norm, LeakyReLU(0.2)."""

    def __init__(self, in_chans: int, out_chans: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.ConvTranspose2d(in_chans, out_chans, kernel_size=2, stride=2, bias=False),
            nn.InstanceNorm2d(out_chans),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.layers(image)


class UNet(nn.Module):
    """U-Net of Ronneberger et al. as configured by fastMRI (Zbontar et al., 2018).

    Args:
        in_chans, out_chans: channels of the input and output images.
        chans: channels of the first block (doubled at each pooling level).
        num_pool_layers: number of down-/up-sampling levels.
        drop_prob: dropout probability.

    Shape: ``(B, in_chans, H, W) -> (B, out_chans, H, W)``; any ``H``, ``W``.
    """

    def __init__(self, in_chans: int = 1, out_chans: int = 1, chans: int = 32,
                 num_pool_layers: int = 4, drop_prob: float = 0.0):
        super().__init__()
        self.in_chans, self.out_chans, self.chans = in_chans, out_chans, chans
        self.num_pool_layers, self.drop_prob = num_pool_layers, drop_prob

        self.down_sample_layers = nn.ModuleList([ConvBlock(in_chans, chans, drop_prob)])
        ch = chans
        for _ in range(num_pool_layers - 1):
            self.down_sample_layers.append(ConvBlock(ch, ch * 2, drop_prob))
            ch *= 2
        self.conv = ConvBlock(ch, ch * 2, drop_prob)

        self.up_conv = nn.ModuleList()
        self.up_transpose_conv = nn.ModuleList()
        for _ in range(num_pool_layers - 1):
            self.up_transpose_conv.append(TransposeConvBlock(ch * 2, ch))
            self.up_conv.append(ConvBlock(ch * 2, ch, drop_prob))
            ch //= 2
        self.up_transpose_conv.append(TransposeConvBlock(ch * 2, ch))
        self.up_conv.append(
            nn.Sequential(
                ConvBlock(ch * 2, ch, drop_prob),
                nn.Conv2d(ch, out_chans, kernel_size=1, stride=1),
            )
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = []
        output = image
        for layer in self.down_sample_layers:
            output = layer(output)
            skips.append(output)
            output = F.avg_pool2d(output, kernel_size=2, stride=2, padding=0)
        output = self.conv(output)
        for transpose_conv, conv in zip(self.up_transpose_conv, self.up_conv):
            skip = skips.pop()
            output = transpose_conv(output)
            # pooling floored odd sizes: reflect-pad one pixel on the right / bottom
            pad_right = int(output.shape[-1] != skip.shape[-1])
            pad_bottom = int(output.shape[-2] != skip.shape[-2])
            if pad_right or pad_bottom:
                output = F.pad(output, [0, pad_right, 0, pad_bottom], "reflect")
            output = conv(torch.cat([output, skip], dim=1))
        return output
