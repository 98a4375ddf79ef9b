import json

import h5py
import numpy as np
import pytest

from fnaf.data.annotations import LABEL_CODES, read_annotations
from fnaf.data.fastmri import SliceDataset, split_dir
from fnaf.data.phantom import PhantomConfig, phantom_dataset, phantom_volume, write_phantom


def render(*args, **kwargs):
    """``phantom_volume`` as ``(kspace, esc, rss, boxes)``."""
    kspace, targets, boxes = phantom_volume(*args, **kwargs)
    return kspace, targets["reconstruction_esc"], targets["reconstruction_rss"], boxes


def volume(seed, geometry="smoke", codes=("BML_Med_Fem", "Med_Men")):
    return render(np.random.default_rng(seed), geometry, 4, "CORPDFS_FBK", list(codes))


def test_deterministic_for_a_seed():
    first, again, other = volume(0), volume(0), volume(1)
    assert np.array_equal(first[0], again[0]) and first[3] == again[3]
    assert not np.array_equal(first[0], other[0])


def test_paper_geometry_shapes():
    kspace, esc, rss, _ = render(np.random.default_rng(0), "paper", 1, "CORPD_FBK", [])
    assert kspace.shape == (1, 640, 368) and kspace.dtype == np.complex64
    assert esc.shape == rss.shape == (1, 320, 320)
    assert 1e-5 < esc.max() < 1e-3  # fastMRI single-coil intensity range


def test_contrasts_differ_in_marrow_and_fluid():
    rng_pd, rng_fs = np.random.default_rng(5), np.random.default_rng(5)
    pd = render(rng_pd, "demo", 1, "CORPD_FBK", [])[2]
    fs = render(rng_fs, "demo", 1, "CORPDFS_FBK", [])[2]
    # same anatomy (same draws), different contrast: fat/marrow dark on PD-FS
    assert np.corrcoef(pd.ravel(), fs.ravel())[0, 1] < 0.9


def test_neighbouring_slices_are_continuous():
    _, _, rss, _ = volume(2)
    neighbours = np.corrcoef(rss[1].ravel(), rss[2].ravel())[0, 1]
    other_volume = np.corrcoef(rss[1].ravel(), volume(3)[2][1].ravel())[0, 1]
    assert neighbours > 0.9 and neighbours > other_volume


def test_lesions_brighten_fat_suppressed_marrow():
    _, _, clean, _ = volume(4, "demo", codes=())
    _, _, lesioned, boxes = volume(4, "demo", codes=("BML_Med_Fem",))
    assert boxes and all(label == "BML_Med_Fem" for _, label, _ in boxes)
    index, _, (x0, x1, y0, y1) = boxes[0]
    scale = 128 / 320
    rows = slice(128 - int(y1 * scale), 128 - int(y0 * scale))  # back to network orientation
    cols = slice(int(x0 * scale), int(x1 * scale))
    assert lesioned[index, rows, cols].mean() > 1.2 * clean[index, rows, cols].mean()


def test_dataset_layout_and_annotations(phantom_root):
    for split, count in (("train", 3), ("val", 2)):
        files = sorted(split_dir(phantom_root, split).glob("*.h5"))
        assert len(files) == count
        with h5py.File(files[0]) as handle:
            assert {"kspace", "reconstruction_esc", "reconstruction_rss",
                    "ismrmrd_header"} <= set(handle)
            assert handle.attrs["acquisition"] in ("CORPD_FBK", "CORPDFS_FBK")
            assert handle.attrs["max"] == pytest.approx(handle["reconstruction_esc"][()].max())
        boxes = read_annotations(phantom_root / f"singlecoil_bb_{split}.csv")
        names = {f.stem for f in files}
        assert set(boxes.filename) <= names
        assert boxes.slice.between(1, 4).all()
        assert ((boxes.x0 >= 0) & (boxes.x1 <= 320) & (boxes.y0 >= 0) & (boxes.y1 <= 320)).all()
    assert len(SliceDataset(split_dir(phantom_root, "train"))) == 12


def test_all_labels_with_realistic_sizes(tmp_path):
    config = PhantomConfig(geometry="demo", train_volumes=6, val_volumes=1, slices=6, seed=1)
    boxes = read_annotations(write_phantom(tmp_path, config) / "singlecoil_bb_train.csv")
    assert set(boxes.label) == set(LABEL_CODES)
    area = (boxes.x1 - boxes.x0) * (boxes.y1 - boxes.y0)
    assert area.min() >= 10 and area.max() <= 10_000  # real boxes: ~70 to ~10,000 px at 320
    slices_per_volume = boxes.groupby("filename").slice.nunique()
    assert (slices_per_volume < 6).any()  # lesions are absent from some slices


def test_cache_reuses_and_separates_parameters(tmp_path):
    config = PhantomConfig(geometry="smoke", train_volumes=1, val_volumes=1, slices=2)
    path = phantom_dataset(config, root=tmp_path)
    stamp = (path / "phantom.json").stat().st_mtime_ns
    assert phantom_dataset(config, root=tmp_path) == path
    assert (path / "phantom.json").stat().st_mtime_ns == stamp
    assert json.loads((path / "phantom.json").read_text())["slices"] == 2
    other = phantom_dataset(PhantomConfig(geometry="smoke", train_volumes=1, val_volumes=1,
                                          slices=3), root=tmp_path)
    assert other != path
    assert not list((tmp_path / "phantom").glob(".partial-*"))


def test_a_read_only_cache_names_fnaf_cache_and_the_fix(tmp_path, monkeypatch):
    import errno

    from fnaf.io import NotWritableError
    from fnaf.runs import preset, train_or_load

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FNAF_RUNS", raising=False)
    monkeypatch.setattr("fnaf.io.tempfile.TemporaryFile", read_only)
    with pytest.raises(NotWritableError, match=r"cache/phantom: results cannot be written there "
                                               r"\(\[Errno 30\] Read-only file system\); point "
                                               r"\$FNAF_CACHE at a writable folder"):
        train_or_load(preset("smoke"), progress=False)
    with pytest.raises(NotWritableError, match="pass a writable root"):
        phantom_dataset(PhantomConfig("smoke", 1, 1, 1), root=tmp_path / "mine")
    monkeypatch.undo()  # the phantom written, then the run cache under $FNAF_CACHE read-only
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FNAF_RUNS", raising=False)
    phantom_dataset(preset("smoke").phantom)
    monkeypatch.setattr("fnaf.io.tempfile.TemporaryFile", read_only)
    with pytest.raises(NotWritableError, match=r"cache/runs/unet-clean.*: results cannot be "
                                               r"written .*\$FNAF_RUNS .*\$FNAF_CACHE/runs"):
        train_or_load(preset("smoke"), progress=False)


def test_an_interrupted_write_leaves_no_dataset(tmp_path, monkeypatch):
    import fnaf.data.phantom as phantom

    calls = []

    def dies_on_the_second_volume(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    original = phantom.phantom_volume
    monkeypatch.setattr(phantom, "phantom_volume", dies_on_the_second_volume)
    with pytest.raises(KeyboardInterrupt):
        write_phantom(tmp_path / "knee", PhantomConfig("smoke", 2, 1, 1))
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its staging copy


def test_staging_folders_of_killed_runs_are_removed(tmp_path):
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / "phantom" / f".partial-{socket.gethostname()}-{dead}-abc"
    other_host = tmp_path / "phantom" / f".partial-elsewhere-{dead}-abc"
    for folder in (stale, other_host):
        (folder / "singlecoil_train").mkdir(parents=True)
    phantom_dataset(PhantomConfig("smoke", 1, 1, 1), root=tmp_path)
    assert not stale.exists() and other_host.exists()


def test_every_label_is_drawn_the_minimum_number_of_times():
    from collections import Counter

    from fnaf.data.phantom import _split_lesion_codes

    codes = _split_lesion_codes(np.random.default_rng(0), 10, 7.0, per_label=3)
    counts = Counter(code for volume in codes for code in volume)
    assert len(codes) == 10 and min(counts[code] for code in LABEL_CODES) >= 3


def test_the_validation_split_carries_enough_units_for_table4(tmp_path):
    """Demo geometry and validation settings: about as many (volume, slice, label) units as
    the published validation CSV (157), at least 5 in every compartment."""
    from fnaf.data.annotations import label_counts

    root = write_phantom(tmp_path / "knee", PhantomConfig(train_volumes=1, val_volumes=10))
    counts = label_counts(read_annotations(root / "singlecoil_bb_val.csv"))
    assert counts["N"].sum() >= 150 and counts["N"].min() >= 5


def test_earlier_datasets_keep_their_keys_and_the_acquisition_fields_change_them():
    # the key of the demo phantom before the acquisition fields existed (a run cache depends on it)
    assert PhantomConfig().key() == "59d6cc6af40842fb"
    assert PhantomConfig(train_volumes=12, val_volumes=8, coils=4).key() == "26fb175abf34e873"
    keys = {PhantomConfig(**change).key() for change in (
        {}, {"anatomy": "brain"}, {"contrasts": ("PD_3DFSE",)}, {"fov": 1.2},
        {"coil_radius": 1.2})}
    assert len(keys) == 5


@pytest.mark.parametrize("change, message", [
    ({"anatomy": "heart"}, "unknown anatomy 'heart'"),
    ({"contrasts": ("AXT2",)}, "are not knee contrasts"),
    ({"anatomy": "brain", "contrasts": ("CORPD_FBK",)}, "are not brain contrasts"),
    ({"contrasts": ()}, "are not knee contrasts"),
    ({"fov": 0.1}, "fov must be a number in [0.5, 3]"),
    ({"coil_radius": "wide"}, "coil_radius must be a number"),
])
def test_bad_acquisition_settings_are_refused_before_any_generation(change, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PhantomConfig(**change)


def test_a_larger_field_of_view_shrinks_the_knee_about_the_centre_boxes_with_it():
    def knee(fov):
        _, _, rss, boxes = render(np.random.default_rng(4), "demo", 4, "CORPDFS_FBK",
                                  ["BML_Med_Fem"], fov=fov)
        return (rss > 0.2 * rss.max()).mean(), boxes

    (area, boxes), (wider, wider_boxes) = knee(1.0), knee(1.3)
    assert wider < 0.9 * area  # the leg runs through the crop: narrower, as long
    for (index, label, box), (wider_index, wider_label, wider_box) in zip(boxes, wider_boxes):
        assert (index, label) == (wider_index, wider_label)
        for low, high, wider_low, wider_high in ((box[0], box[1], wider_box[0], wider_box[1]),
                                                 (box[2], box[3], wider_box[2], wider_box[3])):
            # the same lesion, its box centre 1.3x closer to the crop's centre (160 units)
            expected = 160 + ((low + high) / 2 - 160) / 1.3
            assert abs((wider_low + wider_high) / 2 - expected) < 3


def test_the_brain_is_real_anatomy_in_the_multicoil_layout(tmp_path):
    config = PhantomConfig(geometry="smoke", train_volumes=1, val_volumes=1, slices=3,
                           coils=3, anatomy="brain", lesions_per_volume=0,
                           val_lesions_per_volume=0, val_lesions_per_label=0)
    root = write_phantom(tmp_path / "brain", config)
    volume = SliceDataset(split_dir(root, "val", "multicoil"), challenge="multicoil")
    kspace, mask, target, attrs, *_ = volume[1]
    assert kspace.shape[0] == 3 and attrs["acquisition"] in ("AXT1", "AXT2", "AXFLAIR")
    assert read_annotations(root / "multicoil_bb_val.csv").empty  # no boxes on the brain
    # in the image: a bright rim (the scalp) around darker skull, the brain inside
    kspace, targets, _ = phantom_volume(np.random.default_rng(0), "demo", 2, "AXT1", [],
                                        coils=2, coil_rng=np.random.default_rng(1),
                                        anatomy_name="brain")
    image = targets["reconstruction_rss"][1]
    middle = image[image.shape[0] // 2]
    assert middle[64] > 0.3 * image.max()  # white matter at the centre
    assert (middle[:10] < 0.05 * image.max()).all()  # air outside the head
    assert 1e-5 < image.max() < 1e-2


def test_slices_must_fit_the_brain_templates_cerebrum():
    with pytest.raises(ValueError, match="do not fit the template's cerebrum"):
        phantom_volume(np.random.default_rng(0), "smoke", 40, "AXT1", [], anatomy_name="brain")


def test_a_missing_nilearn_says_what_to_install(monkeypatch):
    import sys

    from fnaf.data import brain_anatomy
    brain_anatomy.template_tissues.cache_clear()
    monkeypatch.setitem(sys.modules, "nilearn", None)
    with pytest.raises(ImportError, match="pip install nilearn"):
        brain_anatomy.template_tissues()
    with pytest.raises(ImportError, match="pip install nilearn"):  # before any generation
        PhantomConfig(anatomy="brain")
    brain_anatomy.template_tissues.cache_clear()
