"""Load weights from local files: plain state_dicts (fastMRI's released models),
Lightning-style checkpoints (``{"state_dict": {"unet.<key>": ...}}``) and training checkpoints
that keep the weights under ``"model"`` (i-RIM), always with ``torch.load(weights_only=True)``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

from torch import nn

from fnaf.io import load_torch


class CheckpointError(ValueError):
    """A weight file that does not fit the model; the message names the file and the keys."""


def extract_state_dict(checkpoint: Mapping, model: nn.Module) -> dict:
    """The model's parameters from a loaded checkpoint: a plain state_dict, or the
    ``state_dict`` entry of a Lightning checkpoint (or the ``model`` entry of a training
    checkpoint), with a common prefix (``unet.``, ``module.``, ``model.``) stripped when the
    model's own keys lack it."""
    state = checkpoint.get("state_dict", checkpoint)
    if state is checkpoint and isinstance(checkpoint.get("model"), Mapping):
        state = checkpoint["model"]
    wanted = set(model.state_dict())
    if set(state) == wanted:
        return dict(state)
    for prefix in sorted({key.split(".", 1)[0] + "." for key in state}):
        stripped = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if set(stripped) == wanted:
            return stripped
    return dict(state)


def load_weights(model: nn.Module, path: str | PathLike, map_location="cpu",
                 safe_globals: Sequence = ()) -> nn.Module:
    """Load a local weight file into ``model`` with ``strict=True``.

    ``safe_globals``: extra globals (classes, or ``(class, "module.name")`` pairs) that
    ``torch.load(weights_only=True)`` may build, e.g. the ``argparse.Namespace`` of a training
    checkpoint; see ``torch.serialization.safe_globals``.

    Raises:
        FileNotFoundError: no file at ``path``.
        DamagedFileError: the file is truncated, empty or not a PyTorch file.
        CheckpointError: the file's keys or shapes do not match the model (e.g. a checkpoint of
            another architecture, or fastMRI's leaderboard U-Net, which needs ``chans=256``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weight file (nothing is downloaded at run time)")
    checkpoint = load_torch(path, "download or copy the weight file again", map_location,
                            safe_globals)
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"{path}: holds a {type(checkpoint).__name__}, not a state_dict")
    return load_state(model, extract_state_dict(checkpoint, model), path,
                      "Check the architecture arguments (fastMRI's single-coil leaderboard U-Net "
                      "has chans=256).")


def load_state(model: nn.Module, state: Mapping, path: str | PathLike, fix: str) -> nn.Module:
    """Load ``state`` (read from ``path``) into ``model`` with ``strict=True``; a
    :class:`CheckpointError` names ``path``, the keys or shapes that differ, and ``fix``."""
    check_state(model, state, path, fix)
    model.load_state_dict(state, strict=True)
    return model


def check_state(model: nn.Module, state: Mapping, path: str | PathLike, fix: str) -> None:
    """Refuse ``state`` (read from ``path``) unless its keys and shapes are ``model``'s: a
    :class:`CheckpointError` names ``path``, the keys or shapes that differ, and ``fix``."""
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: holds a {type(state).__name__}, not a state_dict. {fix}")
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    mismatched = [key for key in set(expected) & set(state)
                  if tuple(expected[key].shape) != tuple(state[key].shape)]
    if missing or unexpected or mismatched:
        details = []
        if missing:
            details.append(f"{len(missing)} missing keys (first: {missing[0]})")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected keys (first: {unexpected[0]})")
        if mismatched:
            key = min(mismatched)
            details.append(f"{len(mismatched)} shape mismatches (first: {key} is "
                           f"{tuple(state[key].shape)} in the file, {tuple(expected[key].shape)} "
                           "in the model)")
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: "
                              f"{'; '.join(details)}. {fix}")
