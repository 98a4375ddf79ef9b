"""Training objectives: clean, FNAF-robust (eq. 5) and bounding boxes."""

import pytest
import torch

from fnaf.data.annotations import AnnotationError, AnnotationIndex, read_annotations
from fnaf.data.fastmri import SliceDataset
from fnaf.data.masks import RandomMaskFunc
from fnaf.data.transforms import SliceTransform
from fnaf.evaluation import collate_slices
from fnaf.models import UNet
from fnaf.objectives import BoxObjective, CleanObjective, FnafObjective
from fnaf.pipelines import UnetPipeline
from fnaf.runs import ObjectiveConfig, robust_preset, train_or_load


def _model():
    torch.manual_seed(0)
    return UNet(chans=2, num_pool_layers=2)


def _batch(root, split="train", keys=None):
    slices = SliceDataset(root / f"singlecoil_{split}")
    keys = keys or [(slices.volumes[v].fname.name, s) for v, s in slices.samples[:4]]
    return collate_slices(slices, SliceTransform(RandomMaskFunc([0.08], [4]), use_seed=True),
                          keys)._replace(max_value=torch.ones(len(keys)))


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


def test_fnaf_objective_without_adversarial_share_is_the_clean_loss(phantom_root):
    model, batch = _model(), _batch(phantom_root)
    clean = CleanObjective()(model, UnetPipeline(), batch, _generator())
    robust = FnafObjective(adv_fraction=0.0)(model, UnetPipeline(), batch, _generator())
    assert torch.equal(clean, robust)


def test_fnaf_objective_adds_the_region_term_and_trains(phantom_root):
    model, batch = _model(), _batch(phantom_root)
    pipeline = UnetPipeline()
    without = FnafObjective(beta=0.0, adv_fraction=1.0, border=1)(model, pipeline, batch,
                                                                  _generator(4))
    with_term = FnafObjective(beta=10.0, adv_fraction=1.0, border=1)(model, pipeline, batch,
                                                                     _generator(4))
    assert with_term > without  # same features (same generator), plus beta * NMSE_T > 0
    with_term.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    worst = FnafObjective(adv_fraction=0.5, n_candidates=3, border=1)(model, pipeline, batch,
                                                                      _generator(1))
    assert torch.isfinite(worst)


@pytest.mark.parametrize("options, message", [
    (dict(beta=-1.0), "loss weights must be >= 0"),
    (dict(adv_fraction=1.5), "adv_fraction must be in \\[0, 1\\]"),
    (dict(n_candidates=0), "n_candidates must be at least 1"),
    (dict(domain="kspace"), "unknown domain"),
])
def test_bad_objective_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        FnafObjective(**options)
    with pytest.raises(ValueError, match=message):
        ObjectiveConfig("fnaf", **options)


def test_box_objective_adds_boxes_and_leaves_unannotated_slices_clean(phantom_root):
    boxes = read_annotations(phantom_root / "singlecoil_bb_train.csv")
    index = AnnotationIndex(boxes)
    slices = SliceDataset(phantom_root / "singlecoil_train")
    keys = [(slices.volumes[v].fname.name, s) for v, s in slices.samples]
    annotated = [key for key in keys if len(index.boxes_for(*key))]
    plain = [key for key in keys if not len(index.boxes_for(*key))]
    assert annotated and plain
    model, pipeline = _model(), UnetPipeline()
    objective = BoxObjective(index, beta=10.0)
    batch = _batch(phantom_root, keys=plain[:2])
    assert torch.equal(objective(model, pipeline, batch, _generator()),
                       CleanObjective()(model, pipeline, batch, _generator()))
    batch = _batch(phantom_root, keys=annotated[:2])
    assert objective(model, pipeline, batch, _generator()) > CleanObjective()(
        model, pipeline, batch, _generator())


def test_robust_fine_tunes_start_from_the_baseline(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    config = robust_preset("smoke", "unet", 4, "fnaf", beta=3.0)
    assert config.init_from is not None and config.objective.beta == 3.0
    run = train_or_load(config, tmp_path / "runs", progress=False)
    assert "-fnaf-ft-4x-smoke-" in run.directory.name
    baseline = list((tmp_path / "runs").glob("unet-clean-4x-smoke-*"))
    assert len(baseline) == 1  # the baseline was trained first
    irim = robust_preset("demo", "irim", 4, "fnaf")
    assert irim.objective.n_pixels == (10, 160)  # 10-1000 at 320x320, scaled to 128x128
    assert robust_preset("paper", "unet", 8, "fnaf", data_root="/d").objective.beta == 10.0


def test_box_training_with_a_csv_of_other_volumes_says_so(tmp_path, monkeypatch, phantom_root):
    import shutil

    from fnaf.data.annotations import write_annotations

    root = tmp_path / "data"
    shutil.copytree(phantom_root, root)
    boxes = read_annotations(root / "singlecoil_bb_train.csv")
    boxes["filename"] = "file9999999"
    write_annotations(boxes, root / "singlecoil_bb_train.csv")
    config = robust_preset("smoke", "unet", 4, "bbox", data_root=str(root))
    with pytest.raises(AnnotationError, match="none of the 1 annotated volumes"):
        train_or_load(config, tmp_path / "runs", progress=False)
