import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("FNAF_CHECK_FIGURES", "1")  # every notebook run checks its figures

import pytest
import torch

from fnaf.data.phantom import PhantomConfig, write_phantom

torch.set_num_threads(1)

SMOKE_PHANTOM = PhantomConfig(geometry="smoke", train_volumes=3, val_volumes=2, slices=4, seed=3)


@pytest.fixture(scope="session")
def phantom_root(tmp_path_factory):
    """A small fastMRI-format phantom dataset (smoke geometry: 64x40 k-space, 32x32 targets)."""
    return write_phantom(tmp_path_factory.mktemp("phantom"), SMOKE_PHANTOM)


@pytest.fixture(scope="session")
def multicoil_batch(tmp_path_factory):
    """Every slice of a 3-coil smoke phantom volume (64x40 k-space) as one batch, with 2x masks
    whose 0.3 centre fraction leaves 12 calibration columns for ESPIRiT."""
    from fnaf.data.batches import collate_slices
    from fnaf.data.fastmri import SliceDataset, split_dir
    from fnaf.data.masks import RandomMaskFunc
    from fnaf.data.transforms import SliceTransform

    config = PhantomConfig(geometry="smoke", train_volumes=1, val_volumes=1, slices=3, coils=3)
    root = write_phantom(tmp_path_factory.mktemp("multicoil_batch"), config)
    slices = SliceDataset(split_dir(root, "val", "multicoil"), challenge="multicoil")
    keys = [(slices.volumes[v].fname.name, s) for v, s in slices.samples]
    return collate_slices(slices, SliceTransform(RandomMaskFunc([0.3], [2]), use_seed=True),
                          keys)


@pytest.fixture(scope="session")
def varied_root(tmp_path_factory):
    """The smoke phantom, single- and 3-coil (the same volumes and boxes), copied with fastMRI's
    variety (:mod:`fnaf.data.varied`): volumes 64x40 and 64x44, 3 and 2 coils, 4 and 3 slices."""
    import shutil
    from dataclasses import replace

    from fnaf.data.varied import write_varied

    base = tmp_path_factory.mktemp("varied")
    write_phantom(base / "source", SMOKE_PHANTOM)
    multicoil = write_phantom(base / "multicoil", replace(SMOKE_PHANTOM, coils=3))
    for folder in multicoil.glob("multicoil_*"):
        shutil.move(folder, base / "source" / folder.name)
    return write_varied(base / "source", base / "varied")


@pytest.fixture(params=["phantom", "varied"])
def dataset(request):
    """Notebook parameters of the data a chapter's test runs on: the embedded phantom (none) or
    :func:`varied_root` as ``data_root``."""
    if request.param == "phantom":
        return {}
    return {"data_root": str(request.getfixturevalue("varied_root"))}


@pytest.fixture
def l1_smoke(tmp_path, monkeypatch):
    """l1's smoke settings and the 3-coil smoke phantom's run config (written under
    ``tmp_path``)."""
    from fnaf.runs import multicoil_preset, untrained_preset

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    return untrained_preset("smoke", "l1"), multicoil_preset("smoke", "varnet", 4, 3)
