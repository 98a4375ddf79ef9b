"""Un-trained decoders: the ConvDecoder and the Deep Decoder (Darestani et al., appendix D;
Robustness-CS ``include/decoder_conv.py`` and ``decoder_skip.py``), batched over networks.

Both map a fixed random input ``(1, C, h₀, w₀)`` through ``layers − 1`` upsampling blocks whose
spatial sizes grow geometrically to the k-space grid (:func:`hidden_sizes`), then a last
block and a 1x1 head with ``2 × coils`` channels (the real and imaginary parts of each coil
image, interleaved):

* ConvDecoder (8 layers, 256 channels): nearest upsampling -> 3x3 convolution (bias) -> ReLU ->
  BatchNorm (BN after the ReLU, as the authors' code);
* Deep Decoder (10 layers, 368 channels): 1x1 convolution (no bias) -> bilinear upsampling
  (``align_corners=True``) -> ReLU -> BatchNorm. A 1x1 convolution commutes with upsampling, so
  it is applied before, on the smaller grid.

``networks`` independent decoders run in one forward pass as grouped convolutions (``groups =
networks``): network ``g`` owns channels ``[g·C, (g+1)·C)`` of every layer, its input and its
BatchNorm statistics, exactly as if it ran alone (a batch of one image per network, BN in train
mode as in the authors' fitting). One optimiser step then fits every slice of a batch at once.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: The decoder architectures and their paper settings (layers, channels).
ARCHITECTURES = {"convdecoder": (8, 256), "deepdecoder": (10, 368)}


def hidden_sizes(in_size: tuple[int, int], out_size: tuple[int, int], layers: int
                 ) -> list[tuple[int, int]]:
    """The spatial sizes after each of the ``layers − 1`` upsampling blocks: per axis the factor
    is ``s = (out/in)^(1/(layers−1))``, giving ``ceil(sⁿ·in)`` for ``n = 1..layers−2``, then
    ``out_size`` (the authors' rule; 640x368 from 10x5 with 8 layers: 19x10, 33x18, ...,
    354x200, 640x368)."""
    if not isinstance(layers, int) or layers < 2:
        raise ValueError(f"a decoder needs layers >= 2 (one upsampling block and the last "
                         f"block), not {layers!r}")
    if any(n < 1 for n in in_size) or any(o < i for i, o in zip(in_size, out_size)):
        raise ValueError(f"a decoder's output size {tuple(out_size)} cannot be reached from its "
                         f"input size {tuple(in_size)} by upsampling: in_size must be positive "
                         "and no larger than the k-space grid on either axis")
    factors = [(o / i) ** (1 / (layers - 1)) for i, o in zip(in_size, out_size)]
    sizes = [tuple(math.ceil(f ** n * i) for f, i in zip(factors, in_size))
             for n in range(1, layers - 1)]
    return [tuple(min(s, o) for s, o in zip(size, out_size)) for size in sizes] + [
        tuple(out_size)]


class Decoder(nn.Module):
    """``networks`` decoders in one module; see the module docstring.

    Args:
        out_size: the k-space grid ``(H, W)``.
        out_channels: ``2 × coils``.
        layers, channels: depth and width (:data:`ARCHITECTURES`).
        in_size: the fixed input's spatial size.
        kernel: 3 (ConvDecoder) or 1 (Deep Decoder).
        networks: independent networks computed together.
    """

    def __init__(self, out_size: tuple[int, int], out_channels: int, layers: int = 8,
                 channels: int = 256, in_size: tuple[int, int] = (10, 5), kernel: int = 3,
                 networks: int = 1):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be an integer >= 1, not {channels!r}")
        if kernel not in (1, 3):
            raise ValueError(f"kernel must be 3 (ConvDecoder) or 1 (Deep Decoder), not {kernel}")
        self.sizes = hidden_sizes(tuple(in_size), tuple(out_size), layers)
        self.in_size, self.channels, self.networks = tuple(in_size), channels, networks
        self.kernel, self.out_channels = kernel, out_channels
        width = channels * networks
        mode = dict(mode="nearest") if kernel == 3 else dict(mode="bilinear", align_corners=True)

        def convolution():
            return nn.Conv2d(width, width, kernel, padding=kernel // 2, groups=networks,
                             bias=kernel == 3)

        blocks = []
        for size in self.sizes:
            upsample = nn.Upsample(size=size, **mode)
            pair = [upsample, convolution()] if kernel == 3 else [convolution(), upsample]
            blocks += [*pair, nn.ReLU(), nn.BatchNorm2d(width)]
        blocks += [convolution(), nn.ReLU(), nn.BatchNorm2d(width),
                   nn.Conv2d(width, out_channels * networks, 1, groups=networks,
                             bias=kernel == 3)]
        self.net = nn.Sequential(*blocks)

    def random_input(self, generator: torch.Generator) -> torch.Tensor:
        """The fixed input, uniform on [0, 1): ``(1, networks·C, h₀, w₀)``."""
        return torch.rand(1, self.channels * self.networks, *self.in_size, generator=generator)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        """``(1, networks·C, h₀, w₀)`` -> complex coil images ``(networks, coils, H, W)``."""
        output = self.net(noise).reshape(self.networks, self.out_channels // 2, 2,
                                         *self.sizes[-1])
        return torch.complex(output[:, :, 0], output[:, :, 1])

    def parameters_per_network(self) -> int:
        """Trainable parameters of one network."""
        return sum(p.numel() for p in self.parameters()) // self.networks


def decoder(architecture: str, out_size: tuple[int, int], coils: int, layers: int | None = None,
            channels: int | None = None, in_size: tuple[int, int] = (10, 5), networks: int = 1
            ) -> Decoder:
    """A ConvDecoder or Deep Decoder (:data:`ARCHITECTURES`; ``layers``/``channels`` default to
    the paper's) for ``coils`` coils on the grid ``out_size``."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown decoder {architecture!r}; accepted: {list(ARCHITECTURES)}")
    if not isinstance(networks, int) or networks < 1:
        raise ValueError(f"networks must be an integer >= 1, not {networks!r}")
    default_layers, default_channels = ARCHITECTURES[architecture]
    return Decoder(out_size, 2 * coils, layers or default_layers, channels or default_channels,
                   in_size, kernel=3 if architecture == "convdecoder" else 1, networks=networks)
