"""Invertible building blocks of the i-RIM (Putzky & Welling, 2019) and memory-free training.

Layers (names and parameter layout as in ``pputzky/invertible_rim``, so released weights load):

* :class:`Householder1x1`: an orthogonal 1x1 convolution ``W``, a product of Householder
  reflections; its inverse is ``W^T``.
* :class:`ResidualBlockPixelshuffle`: weight-normed strided conv, 3x3 conv and transposed conv
  (the "dilation" is a down-/up-sampling factor), with a GLU at the end.
* :class:`RevNetLayer`: additive coupling, ``right += F(left)``.
* :class:`InvertibleUnet`: per layer, rotate with a Householder 1x1, couple, rotate back.
* :class:`DataConsistencyUpdate`: adds the data-term gradient ``F^H M F eta - y`` to a block of
  channels that the gradient does not depend on, hence invertible by subtraction.

Invert to learn (:func:`invert_to_learn`): a chain of invertible steps runs under ``no_grad``;
only its output is kept. Backward walks the steps in reverse: it reconstructs each step's input
from its output, recomputes that one step with autograd enabled and back-propagates through it.
Activation memory therefore does not grow with the number of steps.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from fnaf.mri import MRIOperator


def _weight_norm(module: nn.Module) -> nn.Module:
    """Legacy ``torch.nn.utils.weight_norm`` (``weight_g``/``weight_v``, as in the released
    i-RIM weights); its deprecation warning is silenced here only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning,
                                message=r".*torch\.nn\.utils\.weight_norm.* is deprecated")
        return nn.utils.weight_norm(module)


class Householder1x1(nn.Module):
    """Orthogonal 1x1 convolution ``W = H_1 H_2 ... H_n``, ``H_i = I - 2 v_i v_i^T / (v_i^T v_i)``.

    Args:
        n_channels: channels of the input, all of which are mixed.
        n_householder: reflections (at most ``n_channels`` are used, as in the original).

    Shape: ``(B, n_channels, H, W) -> (B, n_channels, H, W)``; ``reverse`` applies ``W^T``.
    """

    def __init__(self, n_channels: int, n_householder: int = 3):
        super().__init__()
        if n_householder < 1:
            raise ValueError(f"n_householder must be at least 1, not {n_householder}")
        self.weights = nn.Parameter(torch.randn(min(n_householder, n_channels), n_channels, 1))
        self.register_buffer("I", torch.eye(n_channels))

    def matrix(self) -> torch.Tensor:
        """The orthogonal matrix ``W`` ``(n_channels, n_channels)``."""
        v = self.weights
        reflections = self.I - 2 * (v @ v.transpose(1, 2)) / (v.transpose(1, 2) @ v)
        if len(reflections) == 1:
            return reflections[0]
        return torch.linalg.multi_dot(list(reflections))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.matrix()[:, :, None, None])

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return F.conv2d(y, self.matrix().t()[:, :, None, None])


class ResidualBlockPixelshuffle(nn.Module):
    """``l3(relu(l2(relu(l1(x)))))``, then a GLU over channels if ``use_glu``.

    ``l1``: weight-normed ``Conv2d(n_input, n_hidden, kernel=dilation, stride=dilation)``;
    ``l2``: weight-normed 3x3 ``Conv2d(n_hidden, n_hidden, padding=1)``; ``l3``: weight-normed
    ``ConvTranspose2d(n_hidden, n_output (x2 with GLU), kernel=dilation, stride=dilation)``
    without bias, whose ``output_size`` restores the input size (any ``H``, ``W``).

    Shape: ``(B, n_input, H, W) -> (B, n_output, H, W)``.
    """

    def __init__(self, n_input: int, n_output: int, n_hidden: int, dilation: int = 1,
                 use_glu: bool = True):
        super().__init__()
        self.n_output, self.use_glu = n_output, use_glu
        n_out = 2 * n_output if use_glu else n_output
        self.l1 = _weight_norm(nn.Conv2d(n_input, n_hidden, kernel_size=dilation, stride=dilation))
        self.l2 = _weight_norm(nn.Conv2d(n_hidden, n_hidden, kernel_size=3, padding=1))
        self.l3 = _weight_norm(nn.ConvTranspose2d(n_hidden, n_out, kernel_size=dilation,
                                                  stride=dilation, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.l1(x))
        out = F.relu(self.l2(out))
        out = self.l3(out, output_size=x.shape[-2:])
        return F.glu(out, dim=1) if self.use_glu else out


class RevNetLayer(nn.Module):
    """Additive coupling on the first ``n_channels`` channels (further channels pass through).

    ``left, right = x[:, :c // 2], x[:, c // 2:c]``; ``right += update_right(left)`` with
    ``update_right = ResidualBlockPixelshuffle(c // 2 -> c - c // 2, n_hidden, dilation)``.
    """

    def __init__(self, n_channels: int, n_hidden: int, dilation: int = 1):
        super().__init__()
        self.n_channels, self.n_left = n_channels, n_channels // 2
        self.update_right = ResidualBlockPixelshuffle(self.n_left, n_channels - self.n_left,
                                                      n_hidden, dilation=dilation)

    def _couple(self, x: torch.Tensor, sign: int) -> torch.Tensor:
        left, right = x[:, :self.n_left], x[:, self.n_left:self.n_channels]
        right = right + sign * self.update_right(left)
        return torch.cat((left, right, x[:, self.n_channels:]), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._couple(x, 1)

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return self._couple(y, -1)


class InvertibleStep(NamedTuple):
    """One link of an invertible chain: ``y = forward(x, *data)``, ``x = reverse(y, *data)``;
    ``parameters`` are those ``forward`` uses."""

    forward: Callable[..., torch.Tensor]
    reverse: Callable[..., torch.Tensor]
    parameters: tuple[nn.Parameter, ...]


def _ignore_data(function: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    """Adapt ``function(x)`` to the step signature ``(x, *data)``."""
    return lambda x, *data: function(x)


class InvertibleUnet(nn.Module):
    """The i-RIM cell: for each layer ``j``, ``x <- E_j^T R_j(E_j x)`` with ``E_j`` a
    :class:`Householder1x1` (``embeddings[j]``) and ``R_j`` a :class:`RevNetLayer`
    (``layers[j]``). Small-large-small ``dilations`` give the U shape.

    Args:
        n_channels: channels each coupling acts on (the state has ``n_channels[0]`` channels).
        n_hidden: hidden channels of each coupling's residual block.
        dilations: down-sampling factor of each coupling's residual block.
        n_householder: reflections per rotation.

    Shape: ``(B, n_channels[0], H, W) -> (B, n_channels[0], H, W)``.
    """

    def __init__(self, n_channels: Sequence[int], n_hidden: Sequence[int],
                 dilations: Sequence[int], n_householder: int = 3):
        super().__init__()
        if not len(n_channels) == len(n_hidden) == len(dilations) >= 1:
            raise ValueError(
                f"n_channels, n_hidden and dilations need one entry per layer; got lengths "
                f"{len(n_channels)}, {len(n_hidden)} and {len(dilations)}"
            )
        self.layers = nn.ModuleList(RevNetLayer(c, h, d)
                                    for c, h, d in zip(n_channels, n_hidden, dilations))
        self.embeddings = nn.ModuleList(Householder1x1(n_channels[0], n_householder)
                                        for _ in n_channels)

    def layer_forward(self, j: int, x: torch.Tensor) -> torch.Tensor:
        embedding = self.embeddings[j]
        return embedding.reverse(self.layers[j](embedding(x)))

    def layer_reverse(self, j: int, y: torch.Tensor) -> torch.Tensor:
        embedding = self.embeddings[j]
        return embedding.reverse(self.layers[j].reverse(embedding(y)))

    def steps(self) -> list[InvertibleStep]:
        """One :class:`InvertibleStep` per layer (rotation, coupling, rotation back)."""
        return [InvertibleStep(_ignore_data(partial(self.layer_forward, j)),
                               _ignore_data(partial(self.layer_reverse, j)),
                               (*self.embeddings[j].parameters(), *self.layers[j].parameters()))
                for j in range(len(self.layers))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for j in range(len(self.layers)):
            x = self.layer_forward(j, x)
        return x

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        for j in reversed(range(len(self.layers))):
            y = self.layer_reverse(j, y)
        return y


def real_to_complex(x: torch.Tensor) -> torch.Tensor:
    """Channels ``(B, 2n, H, W)`` (real parts, then imaginary parts) -> complex ``(B, n, H, W)``."""
    real, imag = torch.chunk(x, 2, dim=1)
    return torch.complex(real, imag)


def complex_to_real(z: torch.Tensor) -> torch.Tensor:
    """Complex ``(B, n, H, W)`` -> channels ``(B, 2n, H, W)``: real parts, then imaginary parts."""
    return torch.cat((z.real, z.imag), dim=1)


class DataConsistencyUpdate(nn.Module):
    """Invertible data-consistency step of the i-RIM (no parameters).

    ``eta = real_to_complex(x[:, :n])`` and ``g = ifft2c(mask * fft2c(eta)) - y``, the image-space
    gradient of ``1/2 ||M F eta - M k||^2`` with ``y = F^H M k``; ``complex_to_real(g)`` is added
    to channels ``n .. 2n - 1`` (``reverse`` subtracts it). ``n`` = ``n_channels``.

    Data: ``y`` complex ``(B, n / 2, H, W)``; ``mask`` real, broadcastable to it.
    """

    def __init__(self, n_channels: int):
        super().__init__()
        if n_channels < 2 or n_channels % 2:
            raise ValueError(f"n_channels must be a positive even number, not {n_channels}")
        self.n_channels = n_channels

    def _update(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
                sign: int) -> torch.Tensor:
        n = self.n_channels
        if x.shape[1] < 2 * n:
            raise ValueError(f"the state has {x.shape[1]} channels; the gradient update needs "
                             f"at least {2 * n}")
        eta = real_to_complex(x[:, :n])
        grad = complex_to_real(MRIOperator(mask).undersample(eta) - y)
        return torch.cat((x[:, :n], x[:, n:2 * n] + sign * grad, x[:, 2 * n:]), dim=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self._update(x, y, mask, 1)

    def reverse(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self._update(x, y, mask, -1)

    def step(self) -> InvertibleStep:
        return InvertibleStep(self.forward, self.reverse, ())


class _InvertToLearn(torch.autograd.Function):
    """Runs ``steps`` without storing activations; backward inverts them one by one."""

    @staticmethod
    def forward(ctx, x, steps, n_data, *tensors):
        data = tensors[:n_data]
        with torch.no_grad():
            for step in steps:
                x = step.forward(x, *data)
        ctx.steps, ctx.n_data = steps, n_data
        ctx.parameter_index = {id(p): n_data + i for i, p in enumerate(tensors[n_data:])}
        ctx.save_for_backward(x, *data)
        return x

    @staticmethod
    def backward(ctx, grad):
        y, *data = ctx.saved_tensors
        needs_grad = ctx.needs_input_grad[3:]
        data = [d.detach().requires_grad_(needed) for d, needed in zip(data, needs_grad)]
        differentiable_data = [d for d in data if d.requires_grad]
        grads = [None] * len(needs_grad)
        for step in reversed(ctx.steps):
            with torch.no_grad():
                x = step.reverse(y, *data)
            parameters = [p for p in step.parameters if needs_grad[ctx.parameter_index[id(p)]]]
            with torch.enable_grad():
                x = x.detach().requires_grad_(True)
                output = step.forward(x, *data)
                step_grads = torch.autograd.grad(output, [x, *differentiable_data, *parameters],
                                                 grad, allow_unused=True)
            grad, y = step_grads[0], x.detach()
            targets = [i for i, d in enumerate(data) if d.requires_grad]
            targets += [ctx.parameter_index[id(p)] for p in parameters]
            for i, g in zip(targets, step_grads[1:]):
                if g is not None:
                    grads[i] = g if grads[i] is None else grads[i] + g
        return (grad if ctx.needs_input_grad[0] else None, None, None, *grads)


def invert_to_learn(x: torch.Tensor, steps: Sequence[InvertibleStep],
                    data: Sequence[torch.Tensor] = (),
                    parameters: Sequence[nn.Parameter] = ()) -> torch.Tensor:
    """Apply ``steps`` in order, ``x <- step.forward(x, *data)``, with memory-free backprop.

    Only the output is stored. Gradients reach ``x``, the ``data`` tensors that require grad
    (unlike the release, which ignores them, so that input gradients stay exact, e.g. for
    attacks), and every step parameter listed in ``parameters`` (pass all of them; a parameter
    a step uses but that is missing from ``parameters`` raises ``KeyError`` in backward).
    Gradients are those at the reconstructed activations, exact up to floating-point inversion
    error. Backward costs one inverse and one forward per step on top of plain autograd's work.
    """
    return _InvertToLearn.apply(x, tuple(steps), len(data), *data, *parameters)


class MemoryFreeInvertible(nn.Module):
    """Wraps a module with ``steps()``, ``forward(x, *data)`` and ``reverse(y, *data)``.

    With ``memory_free`` and gradients enabled, ``forward`` uses :func:`invert_to_learn`;
    otherwise it calls the wrapped ``model`` (plain autograd). The result is the same.
    """

    def __init__(self, model: nn.Module, memory_free: bool = True):
        super().__init__()
        self.model, self.memory_free = model, memory_free

    def forward(self, x: torch.Tensor, *data: torch.Tensor) -> torch.Tensor:
        if self.memory_free and torch.is_grad_enabled():
            return invert_to_learn(x, self.model.steps(), data, tuple(self.model.parameters()))
        return self.model(x, *data)

    def reverse(self, y: torch.Tensor, *data: torch.Tensor) -> torch.Tensor:
        return self.model.reverse(y, *data)
