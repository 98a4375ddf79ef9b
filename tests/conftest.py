import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
import torch

from fnaf.data.phantom import PhantomConfig, write_phantom

torch.set_num_threads(1)

SMOKE_PHANTOM = PhantomConfig(geometry="smoke", train_volumes=3, val_volumes=2, slices=4, seed=3)


@pytest.fixture(scope="session")
def phantom_root(tmp_path_factory):
    """A small fastMRI-format phantom dataset (smoke geometry: 64x40 k-space, 32x32 targets)."""
    return write_phantom(tmp_path_factory.mktemp("phantom"), SMOKE_PHANTOM)
