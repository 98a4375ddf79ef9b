"""One device rule: every computation runs on the device it is given, or on the session's.

Every entry point that computes (training, evaluation, the attacks, the replays, the
reconstructions by optimisation, the small-feature maps, the shift scores) takes ``device``;
``None`` means the session's device: the one :func:`set_device` chose (a notebook's ``device``
parameter), else :func:`default_device` (CUDA when present, the local rank's GPU under
``torchrun``). Cached models load onto it. A device this machine does not have is a
``ValueError`` naming it and the fix, before any work.
"""

from __future__ import annotations

import os

import torch

_session: torch.device | None = None


def default_device() -> torch.device:
    """CUDA when present (the local rank's GPU under ``torchrun``), else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def checked_device(device: torch.device | str) -> torch.device:
    """``device`` as a ``torch.device``, or a ``ValueError`` if this machine lacks it."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device {device!r} is not a device name ({error}); pass 'cpu', "
                         "'cuda', 'cuda:1', ... or None (CUDA when present)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if device.index is not None and device.index >= count or count == 0:
            raise ValueError(f"device {str(device)!r} is not on this machine ({count} CUDA "
                             "devices): pass device='cpu', or None for CUDA when present")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' is not on this machine: pass device='cpu', or None")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {str(device)!r}: fnaf computes on 'cpu', 'cuda[:n]' or 'mps'")
    return device


def set_device(device: torch.device | str | None) -> torch.device:
    """Make ``device`` (checked; ``None``: :func:`default_device`) the session's device, the one
    every entry point given no device computes on. Returns it."""
    global _session
    _session = checked_device(device) if device is not None else None
    return resolve_device(None)


def resolve_device(device: torch.device | str | None = None) -> torch.device:
    """``device`` checked, or the session's device where it is ``None``."""
    if device is not None:
        return checked_device(device)
    return _session if _session is not None else default_device()


def module_device(module: torch.nn.Module) -> torch.device:
    """Where ``module`` lives: its first parameter's or buffer's device (a
    :class:`~fnaf.audit.model.ReconModel` without weights carries an empty buffer for this)."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    raise ValueError(f"{type(module).__name__} has no parameter or buffer to tell its device; "
                     "pass device= explicitly")
