"""Chapter 10's location maps in the run cache: settings checked before the cache is looked
up, a second call reads the rows instead of reconstructing, and the rows are the map's."""

import pandas as pd
import pytest

from fnaf.attacks.windows import location_map
from fnaf.runs import middle_slices, multicoil_preset
from fnaf.studies import small_features
from fnaf.studies.small_features import location_map_or_load


def test_a_second_call_reads_the_cached_rows(tmp_path, l1_smoke, monkeypatch):
    method, data = l1_smoke
    fresh = location_map_or_load(method, data, 4, 2, 3, 2, tmp_path / "runs", chunk=3,
                                 device="cpu")
    (cached,) = (tmp_path / "runs" / "location_maps").glob("*.json")
    assert cached.name.startswith("l1-")
    direct = location_map(method.build(), middle_slices(data, 4, 2), 3, 2, 3,
                          device="cpu")
    pd.testing.assert_frame_equal(fresh, direct, check_exact=True)

    def refuse(*args, **kwargs):
        raise AssertionError("the cached map was computed again")

    monkeypatch.setattr(small_features, "location_map", refuse)
    again = location_map_or_load(method, data, 4, 2, 3, 2, tmp_path / "runs", chunk=3,
                                 device="cpu")
    pd.testing.assert_frame_equal(again, fresh, check_exact=True)
    with pytest.raises(AssertionError, match="computed again"):  # other settings: another map
        location_map_or_load(method, data, 4, 2, 3, 3, tmp_path / "runs", chunk=3,
                             device="cpu")


@pytest.mark.parametrize("change, message", [
    ({"size": 0}, "window size must be a positive integer"),
    ({"points": 1.5}, "grid points must be a positive integer"),
    ({"chunk": 0}, "chunk must be a positive integer"),
    ({"images": 0}, "volumes must be a positive integer"),
    ({"size": 40}, "does not fit the 32×32 target"),
    ({"accel": 3}, "accel"),
    ({"method": "l1"}, "method must be a trained run's RunConfig"),
    ({"method": multicoil_preset("smoke", "unet", 4, 5)}, "trained on other data"),
])
def test_settings_are_checked_before_the_cache(tmp_path, l1_smoke, change, message):
    method, data = l1_smoke
    arguments = {"method": method, "data": data, "accel": 4, "images": 2, "size": 3,
                 "points": 2, "chunk": 3, **change}
    chunk = arguments.pop("chunk")
    with pytest.raises((TypeError, ValueError), match=message):
        location_map_or_load(**arguments, root=tmp_path / "runs", chunk=chunk, device="cpu")
    assert not (tmp_path / "runs").exists()
