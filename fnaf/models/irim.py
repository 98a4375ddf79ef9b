"""The invertible Recurrent Inference Machine (i-RIM) of Putzky & Welling for single-coil fastMRI.

Configuration and weight layout follow ``pputzky/irim_fastMRI`` (``training_utils/models.py``:
``IRIMfastMRI``) on top of ``pputzky/invertible_rim``; see ``recon_reference.md`` section G.

Data flow of :meth:`IRIM.forward` (complex zero-filled image ``y``, mask ``M``):

1. ``gamma`` = unbiased std of ``y``'s real view (+1e-6); ``y <- y / gamma``.
2. ``multiplicity`` copies of ``y``; ``eta`` = their real parts, then their imaginary parts
   (``2 * multiplicity`` channels). State ``x = [eta, 0, ..., 0, metadata]`` with ``n_hidden``
   channels, the scanner/contrast one-hot in the last ``n_metadata`` channels.
3. Recurrence: a data-consistency update (adds ``F^H M F eta - y`` to the next
   ``2 * multiplicity`` channels), then ``n_steps`` times: own :class:`InvertibleUnet`, update.
4. ``output_function`` (64 -> 2 channels: real, imaginary), plus the state's first image copy
   with ``residual_output`` (an option of this package), and ``x gamma``.
"""

from __future__ import annotations

import argparse
import pathlib
from collections.abc import Sequence
from os import PathLike

import numpy as np
import torch
from torch import nn

from fnaf.models.checkpoints import load_weights
from fnaf.models.invertible import (
    DataConsistencyUpdate,
    InvertibleStep,
    InvertibleUnet,
    MemoryFreeInvertible,
    ResidualBlockPixelshuffle,
    complex_to_real,
)
from fnaf.mri import center_crop

PAPER_NETWORK_HIDDEN = (64, 64, 128, 128, 256, 1024, 1024, 256, 128, 128, 64, 64)
PAPER_DILATIONS = (1, 1, 2, 2, 4, 8, 8, 4, 2, 2, 1, 1)

#: Metadata one-hot order of ``irim_fastMRI`` (``mri_data.export_attrs``): fat-suppressed
#: (``CORPDFS_FBK``) and plain proton-density (``CORPD_FBK``) per scanner.
SCANNER_CONTRASTS = (
    "fs_1_5T_Aera", "non_fs_1_5T_Aera",
    "fs_3T_Biograph", "non_fs_3T_Biograph",
    "fs_3T_Prisma", "non_fs_3T_Prisma",
    "fs_3T_Skyra", "non_fs_3T_Skyra",
)
_SCANNERS = ("Aera", "Biograph", "Prisma", "Skyra")  # header strings: Biograph_mMR, Prisma_fit
_ACQUISITIONS = {"CORPDFS_FBK": 0, "CORPDFS_FBKREPEAT": 0, "CORPD_FBK": 1}


def metadata_one_hot(system_model: str | None, acquisition: str) -> torch.Tensor:
    """The i-RIM metadata vector ``(8,)`` float32, index ``2 * scanner + (not fat-suppressed)``
    in :data:`SCANNER_CONTRASTS` order.

    Args:
        system_model: ``acquisitionSystemInformation/systemModel`` of the ISMRMRD header
            (e.g. ``"Skyra"``, ``"Biograph_mMR"``, ``"Prisma_fit"``), matched by substring.
        acquisition: the ``acquisition`` attribute, ``"CORPD_FBK"`` or ``"CORPDFS_FBK"``
            (``"CORPDFS_FBKREPEAT"`` counts as ``"CORPDFS_FBK"``, as in the original).

    Raises:
        ValueError: unknown or missing scanner model, or unknown acquisition.
    """
    if acquisition not in _ACQUISITIONS:
        raise ValueError(f"acquisition must be one of {sorted(_ACQUISITIONS)}, not {acquisition!r}")
    matches = [i for i, name in enumerate(_SCANNERS)
               if system_model is not None and name.lower() in system_model.lower()]
    if len(matches) != 1:
        raise ValueError(f"scanner model {system_model!r} is not one the i-RIM knows; it must "
                         f"contain exactly one of {', '.join(_SCANNERS)}")
    one_hot = torch.zeros(len(SCANNER_CONTRASTS))
    one_hot[2 * matches[0] + _ACQUISITIONS[acquisition]] = 1
    return one_hot


class IRIMRecurrence(nn.Module):
    """``x <- U(x)``, then ``n_steps`` times ``x <- U(G_t(x))`` with ``G_t = rnn[t]`` (no shared
    weights) and ``U`` the :class:`DataConsistencyUpdate` ``grad_fun``. ``forward(x, y, mask)``;
    ``reverse`` inverts it (the release's ``IRIM.reverse`` visits ``rnn[0], rnn[-1], ...``,
    which is not the inverse); ``steps()`` lists the invertible steps in order."""

    def __init__(self, rnn: Sequence[InvertibleUnet], n_data_channels: int):
        super().__init__()
        self.rnn = nn.ModuleList(rnn)
        self.grad_fun = DataConsistencyUpdate(n_data_channels)

    def steps(self) -> list[InvertibleStep]:
        steps = [self.grad_fun.step()]
        for cell in self.rnn:
            steps += [*cell.steps(), self.grad_fun.step()]
        return steps

    def forward(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for step in self.steps():
            x = step.forward(x, y, mask)
        return x

    def reverse(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for step in reversed(self.steps()):
            x = step.reverse(x, y, mask)
        return x


def _positive_ints(name: str, values: Sequence[int]) -> tuple[int, ...]:
    values = tuple(values)
    if not values or any(not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name} must be a non-empty list of positive integers, "
                         f"not {list(values)}")
    return values


class IRIM(nn.Module):
    """i-RIM for single-coil data (``IRIMfastMRI`` with ``--parametric_output``).

    Args:
        n_steps: recurrent steps, each with its own :class:`InvertibleUnet`.
        n_hidden: channels of the machine state (``--n_hidden``, one value for all layers).
        n_network_hidden: hidden channels of each coupling layer of a step.
        dilations: down-sampling factor of each coupling layer (same length).
        multiplicity: copies of the image in the state.
        n_householder: Householder reflections per 1x1 rotation.
        n_metadata: one-hot metadata channels at the end of the state (8 in the release).
        memory_free: train with invert-to-learn (no stored activations) instead of autograd.
        residual_output: add the state's first image copy (the machine's own estimate, which
            starts as the zero-filled input) to ``output_function``'s result, so an untrained
            machine passes its input through; off (the release) the output function alone
            maps the state to the image. The weights are the same either way.

    Module tree (identical ``state_dict`` keys to the release, minus DataParallel's
    ``module.``): ``model`` is the memory-free wrapper (the release's
    ``MemoryFreeInvertibleModule``), whose ``model`` is the recurrence (the release's ``IRIM``),
    whose ``rnn[t]`` are the cells; hence ``model.model.rnn.{t}.layers.{j}.update_right.l1.*``,
    ``model.model.rnn.{t}.embeddings.{j}.weights``/``.I`` and ``output_function.l1/l2/l3.*``.
    The data-consistency updates have no parameters.
    """

    def __init__(self, n_steps: int = 8, n_hidden: int = 64,
                 n_network_hidden: Sequence[int] = PAPER_NETWORK_HIDDEN,
                 dilations: Sequence[int] = PAPER_DILATIONS, multiplicity: int = 4,
                 n_householder: int = 3, n_metadata: int = 8, memory_free: bool = True,
                 residual_output: bool = False):
        super().__init__()
        for name, value, least in [("n_steps", n_steps, 1), ("multiplicity", multiplicity, 1),
                                   ("n_householder", n_householder, 1),
                                   ("n_metadata", n_metadata, 0)]:
            if not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, not {value!r}")
        n_network_hidden = _positive_ints("n_network_hidden", n_network_hidden)
        dilations = _positive_ints("dilations", dilations)
        if len(n_network_hidden) != len(dilations):
            raise ValueError(f"n_network_hidden has {len(n_network_hidden)} entries and dilations "
                             f"{len(dilations)}; they need one per layer")
        needed = 2 * 2 * multiplicity + n_metadata
        if not isinstance(n_hidden, int) or n_hidden < needed:
            raise ValueError(f"n_hidden={n_hidden!r} cannot hold the image ({2 * multiplicity}), "
                             f"gradient ({2 * multiplicity}) and metadata ({n_metadata}) "
                             f"channels; it must be at least {needed}")
        self.n_hidden, self.multiplicity, self.n_metadata = n_hidden, multiplicity, n_metadata
        self.residual_output = residual_output
        cells = [InvertibleUnet([n_hidden] * len(dilations), n_network_hidden, dilations,
                                n_householder) for _ in range(n_steps)]
        self.model = MemoryFreeInvertible(IRIMRecurrence(cells, 2 * multiplicity), memory_free)
        self.output_function = ResidualBlockPixelshuffle(n_hidden, 2, n_hidden, dilation=1,
                                                         use_glu=False)

    @classmethod
    def paper(cls, memory_free: bool = True) -> IRIM:
        """The released single-coil model: 8 steps, 64 state channels, 12 layers with hidden
        64 64 128 128 256 1024 1024 256 128 128 64 64 and dilations 1 1 2 2 4 8 8 4 2 2 1 1,
        multiplicity 4; 275,247,552 parameters."""
        return cls(n_steps=8, n_hidden=64, n_network_hidden=PAPER_NETWORK_HIDDEN,
                   dilations=PAPER_DILATIONS, multiplicity=4, n_householder=3, n_metadata=8,
                   memory_free=memory_free)

    @property
    def memory_free(self) -> bool:
        return self.model.memory_free

    @memory_free.setter
    def memory_free(self, value: bool) -> None:
        self.model.memory_free = value

    def forward(self, zero_filled: torch.Tensor, mask: torch.Tensor,
                metadata: torch.Tensor | None = None,
                crop_size: Sequence[int] | None = None) -> torch.Tensor:
        """Reconstruct the full field of view.

        Args:
            zero_filled: complex ``(B, H, W)``, ``ifft2c`` of the masked k-space.
            mask: ``(B, W)`` or ``(B, 1, W)`` (columns), or ``(B, H, W)``; float or bool.
            metadata: ``(B, n_metadata)`` one-hot (:func:`metadata_one_hot`); ``None`` leaves
                those channels at zero (the release's behaviour without metadata).
            crop_size: ``(h, w)``: compute ``gamma`` on the central crop of this size; ``None``
                uses the whole image, as the release's ``RescaleByStd`` does.

        Returns:
            complex ``(B, H, W)``; crop and take the magnitude for the fastMRI target.

        Gradients with respect to every input that requires grad (``zero_filled`` included) are
        the same with and without ``memory_free``. The model runs in float32 even under
        autocast: memory-free backpropagation rebuilds activations by inverting the layers, which
        half precision would make inexact.
        """
        if not zero_filled.is_complex() or zero_filled.dim() != 3:
            raise ValueError(f"zero_filled must be a complex (B, H, W) tensor, not "
                             f"{zero_filled.dtype} {tuple(zero_filled.shape)}")
        height, width = zero_filled.shape[-2:]
        mask_shape = tuple(mask.shape)
        if mask.dim() == 2:
            mask = mask[:, None, None, :]
        elif mask.dim() == 3:
            mask = mask[:, None]
        else:
            raise ValueError(f"mask must be (B, W), (B, 1, W) or (B, H, W), not {mask_shape}")
        if mask.shape[-1] != width or mask.shape[-2] not in (1, height):
            raise ValueError(f"mask of shape {mask_shape} does not fit images of size "
                             f"{height}x{width}")

        with torch.autocast(zero_filled.device.type, enabled=False):
            return self._reconstruct(zero_filled, mask.float(), metadata, crop_size)

    def _reconstruct(self, zero_filled: torch.Tensor, mask: torch.Tensor,
                     metadata: torch.Tensor | None, crop_size) -> torch.Tensor:
        """:meth:`forward` on validated inputs; ``mask`` is ``(B, 1, 1 or H, W)``."""
        batch, height, width = zero_filled.shape
        region = zero_filled if crop_size is None else center_crop(zero_filled, crop_size)
        gamma = torch.view_as_real(region).reshape(batch, -1).std(dim=1) + 1e-6
        y = (zero_filled / gamma[:, None, None]).unsqueeze(1).expand(-1, self.multiplicity, -1, -1)

        eta = complex_to_real(y)
        parts = [eta, eta.new_zeros(batch, self.n_hidden - eta.shape[1] - self.n_metadata,
                                    height, width)]
        if metadata is None:
            parts.append(eta.new_zeros(batch, self.n_metadata, height, width))
        else:
            if metadata.shape != (batch, self.n_metadata):
                raise ValueError(f"metadata must be ({batch}, {self.n_metadata}), not "
                                 f"{tuple(metadata.shape)}")
            parts.append(metadata.to(eta)[:, :, None, None].expand(-1, -1, height, width))
        state = self.model(torch.cat(parts, dim=1), y, mask.to(eta.dtype))

        estimate = self.output_function(state)
        if self.residual_output:  # channels 0 and multiplicity: the first copy's real, imaginary
            estimate = estimate + state[:, [0, self.multiplicity]]
        return torch.complex(estimate[:, 0], estimate[:, 1]) * gamma[:, None, None]


#: Globals of the release's checkpoints (``args`` Namespace with ``pathlib`` paths,
#: ``best_dev_loss`` a NumPy float) that ``torch.load(weights_only=True)`` may build. Names are
#: given as pickled by NumPy 1 and 2 and by Python < 3.13 and >= 3.13.
_NUMPY_SCALAR = np.float64(0).__reduce__()[0]  # numpy.(_)core.multiarray.scalar
IRIM_CHECKPOINT_GLOBALS = (
    argparse.Namespace,
    (pathlib.PosixPath, "pathlib.PosixPath"),
    (pathlib.WindowsPath, "pathlib.WindowsPath"),
    (pathlib.PurePosixPath, "pathlib.PurePosixPath"),
    (np.dtype, "numpy.dtype"),
    type(np.dtype(np.float64)),
    (_NUMPY_SCALAR, "numpy.core.multiarray.scalar"),
    (_NUMPY_SCALAR, "numpy._core.multiarray.scalar"),
)


def load_irim_checkpoint(model: IRIM, path: str | PathLike, map_location="cpu") -> IRIM:
    """Load an ``irim_fastMRI`` checkpoint (or a plain state_dict) into ``model``.

    The release saves ``{"epoch", "args" (argparse.Namespace), "model" (state_dict with
    DataParallel's ``module.`` prefix), "optimizer", "best_dev_loss", "exp_dir"}``. It is read
    with ``torch.load(weights_only=True)``, allow-listing only :data:`IRIM_CHECKPOINT_GLOBALS`;
    the ``model`` entry is taken and ``module.`` stripped. Build the model with the
    checkpoint's architecture first, e.g. for the single-coil release::

        model = load_irim_checkpoint(IRIM.paper(), "irim_singlecoil/model.pt").eval()

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the weights do not fit ``model`` (another architecture).
    """
    return load_weights(model, path, map_location=map_location,
                        safe_globals=IRIM_CHECKPOINT_GLOBALS)
