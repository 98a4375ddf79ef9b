"""Check fnaf against fastMRI's own code (run by hand; needs PyPI once).

Downloads the ``fastmri`` wheel without its dependencies, imports its ``subsample``, ``losses``
and ``models/unet`` modules straight from the wheel (they need only numpy and torch) and compares:
masks for many file-name seeds, widths and settings (seeded and running streams), SSIMLoss, and
U-Net outputs with shared weights; then imports the whole package (its ``__init__`` needs only
what fnaf installs) for the End-to-End VarNet with shared weights on multi-coil k-space in
fastMRI's real layout, and its ``SliceDataset(challenge="multicoil")`` reading the multi-coil
phantom as fnaf's reader does. Usage: ``python tools/fastmri_parity.py``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch

from fnaf.data import masks
from fnaf.data.fastmri import SliceDataset
from fnaf.data.phantom import PhantomConfig, write_phantom
from fnaf.losses import SSIMLoss
from fnaf.models import UNet, VarNet


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare_masks(subsample) -> tuple[int, int]:
    pairs = [(subsample.RandomMaskFunc, masks.RandomMaskFunc),
             (subsample.EquispacedMaskFractionFunc, masks.EquispacedMaskFractionFunc)]
    settings = [([0.08], [4]), ([0.04], [8]), ([0.08, 0.04], [4, 8])]
    checked = mismatched = 0
    for reference_class, our_class in pairs:
        for fractions, accelerations in settings:
            for width in (368, 372, 148, 40):
                for number in range(30):
                    seed = tuple(map(ord, f"file{1000000 + number}.h5"))
                    expected = reference_class(fractions, accelerations)((640, width, 2), seed=seed)
                    ours = our_class(fractions, accelerations)((640, width, 2), seed=seed)
                    checked += 1
                    mismatched += not torch.equal(expected[0], ours[0]) or expected[1] != ours[1]
                reference, mine = reference_class(fractions, accelerations, seed=5), our_class(
                    fractions, accelerations, seed=5)
                for _ in range(10):
                    checked += 1
                    mismatched += not torch.equal(reference((1, width, 2))[0],
                                                  mine((1, width, 2))[0])
    return checked, mismatched


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "fastmri", "--no-deps", "-q",
                        "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("fastmri-*.whl")
        zipfile.ZipFile(wheel).extractall(tmp)
        package = Path(tmp) / "fastmri"
        subsample = load_module("fastmri_subsample", package / "data" / "subsample.py")
        losses = load_module("fastmri_losses", package / "losses.py")
        unet = load_module("fastmri_unet", package / "models" / "unet.py")
        print(f"fastmri wheel: {wheel.name}")
        checked, mismatched = compare_masks(subsample)
        print(f"masks: {checked} compared, {mismatched} differ")
        x, y = torch.rand(3, 1, 30, 26), torch.rand(3, 1, 30, 26)
        data_range = torch.tensor([1.0, 0.9, 1.2])
        difference = (losses.SSIMLoss()(x, y, data_range) - SSIMLoss()(x, y, data_range)).abs()
        print(f"SSIMLoss: max abs difference {difference.item():.3g}")
        reference = unet.Unet(1, 1, chans=8, num_pool_layers=3).eval()
        ours = UNet(1, 1, chans=8, num_pool_layers=3).eval()
        ours.load_state_dict(reference.state_dict(), strict=True)
        with torch.no_grad():
            for size in ((32, 32), (37, 29)):
                image = torch.randn(2, 1, *size)
                gap = (ours(image) - reference(image)).abs().max().item()
                print(f"U-Net {size}: max abs output difference {gap:.3g}")
        sys.path.insert(0, tmp)
        from fastmri.models import VarNet as ReferenceVarNet

        reference = ReferenceVarNet(num_cascades=3, sens_chans=4, sens_pools=2, chans=6,
                                    pools=3).eval()
        ours = VarNet(num_cascades=3, sens_chans=4, sens_pools=2, chans=6, pools=3).eval()
        ours.load_state_dict(reference.state_dict(), strict=True)
        kspace = torch.randn(2, 5, 40, 37, 2)
        columns = torch.rand(2, 37) < 0.3
        columns[:, 15:22] = True
        with torch.no_grad():
            expected = reference(kspace * columns[:, None, None, :, None],
                                 columns[:, None, None, :, None])
            gap = (ours(kspace * columns[:, None, None, :, None],
                        columns.float()[:, None, None]) - expected).abs().max().item()
        print(f"VarNet (2, 5, 40, 37): max abs output difference {gap:.3g} "
              f"(output max {expected.abs().max().item():.3g})")
        from fastmri.data.mri_data import SliceDataset as ReferenceSlices

        root = write_phantom(Path(tmp) / "phantom", PhantomConfig(
            geometry="smoke", train_volumes=1, val_volumes=2, slices=3, coils=4))
        theirs = ReferenceSlices(root / "multicoil_val", challenge="multicoil",
                                 use_dataset_cache=False)
        ours = SliceDataset(root / "multicoil_val", challenge="multicoil")
        same = sum(all((a == b).all() for a, b in zip(theirs[i][:3:2], ours[i][:3:2]))
                   for i in range(len(ours)))
        print(f"multi-coil SliceDataset: {len(theirs)} slices read by fastMRI, {same} with "
              "k-space and target identical to fnaf's")


if __name__ == "__main__":
    main()
