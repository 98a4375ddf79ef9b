"""The l1 λ sweep in the run cache: each λ's rows are cached once and shared by every sweep of
the same data and settings (chapters 08-10 sweep the same knees); other settings sweep again."""

import pandas as pd

from fnaf.runs import lambda_sweep
from fnaf.runs.untrained import UntrainedConfig


def test_a_shared_lambda_is_read_not_reconstructed(tmp_path, l1_smoke, monkeypatch):
    config, data = l1_smoke
    first = lambda_sweep(config, [1e-4, 1e-3], data, 4, 2, device="cpu", root=tmp_path)
    assert len(list((tmp_path / "untrained" / "sweeps").glob("*.json"))) == 2
    built, build = [], UntrainedConfig.build
    monkeypatch.setattr(UntrainedConfig, "build",
                        lambda self: built.append(self.lam) or build(self))
    second = lambda_sweep(config, [1e-3, 3e-3], data, 4, 2, device="cpu", root=tmp_path)
    assert built == [3e-3]  # 1e-3 came from the cache
    shared = [frame[frame.lam == 1e-3].reset_index(drop=True) for frame in (first, second)]
    pd.testing.assert_frame_equal(*shared, check_exact=True)
    assert list(second.lam.unique()) == [1e-3, 3e-3] and len(second) == 4
    lambda_sweep(config, [1e-3], data, 4, 1, device="cpu", root=tmp_path)  # other volumes
    lambda_sweep(config, [1e-3], data, 4, 2, device="cpu", root=tmp_path,
                 ssim_variant="robustness-cs")
    assert built == [3e-3, 1e-3, 1e-3]


def test_a_replaced_volume_is_other_data(phantom_root):
    """The untrained methods' caches (two-step rows, λ sweeps, location maps) key a data root
    by its files' identity, so a replaced volume is never served a stale row."""
    import os

    from fnaf.runs import preset
    from fnaf.runs.untrained import data_key

    data = preset("smoke", "unet", 4, data_root=str(phantom_root))
    before = data_key(data, 4)
    assert data_key(data, 4) == before and data_key(data, 8) != before
    volume = next((phantom_root / "singlecoil_val").glob("*.h5"))
    stat = volume.stat()
    os.utime(volume, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    try:
        assert data_key(data, 4) != before
    finally:
        os.utime(volume, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data_key(data, 4) == before
