"""Training objectives: clean, FNAF-robust (eq. 5) and bounding boxes."""

import pytest
import torch

from fnaf.attacks.features import FeatureSpec
from fnaf.data.annotations import AnnotationError, AnnotationIndex, read_annotations
from fnaf.data.batches import SeededSlices, collate_slices
from fnaf.data.fastmri import SliceDataset
from fnaf.data.masks import RandomMaskFunc
from fnaf.data.transforms import SliceTransform
from fnaf.evaluation import Validator
from fnaf.models import UNet
from fnaf.objectives import BoxObjective, CleanObjective, FnafObjective, adversarial_rows
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
    features = FeatureSpec(border=1)
    without = FnafObjective(features, beta=0.0, adv_fraction=1.0)(model, pipeline, batch,
                                                                  _generator(4))
    with_term = FnafObjective(features, beta=10.0, adv_fraction=1.0)(model, pipeline, batch,
                                                                     _generator(4))
    assert with_term > without  # same features (same generator), plus beta * NMSE_T > 0
    with_term.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    worst = FnafObjective(features, adv_fraction=0.5, n_candidates=3)(model, pipeline, batch,
                                                                      _generator(1))
    assert torch.isfinite(worst)


def test_adversarial_share_is_exact_in_expectation_at_any_batch_size():
    generator = _generator(7)
    at_batch_1 = [len(adversarial_rows(1, 0.5, generator)) for _ in range(400)]
    assert set(at_batch_1) == {0, 1} and 160 <= sum(at_batch_1) <= 240  # 200 +- 4 sigma
    at_batch_4 = [len(adversarial_rows(4, 0.3, generator)) for _ in range(400)]
    assert set(at_batch_4) == {1, 2} and 400 <= sum(at_batch_4) <= 560  # 480 +- 4.4 sigma
    rows = adversarial_rows(4, 0.5, generator)
    assert len(rows) == 2 and len(set(rows.tolist())) == 2  # integer share: always exact
    assert len(adversarial_rows(3, 0.0, generator)) == 0
    assert len(adversarial_rows(3, 1.0, generator)) == 3


def test_fnaf_objective_perturbs_slices_at_batch_1(phantom_root):
    """The paper preset trains the U-Net at batch 1; round(0.5 x 1) = 0 perturbed it never."""
    model, pipeline = _model(), UnetPipeline()
    batch = _batch(phantom_root)
    one = batch._replace(**{name: getattr(batch, name)[:1] for name in batch._fields})
    clean = CleanObjective()(model, pipeline, one, _generator()).item()
    robust = FnafObjective(FeatureSpec(border=1), beta=10.0, adv_fraction=0.5)
    losses = [robust(model, pipeline, one, _generator(seed)).item() for seed in range(12)]
    perturbed = [loss for loss in losses if loss != clean]
    assert 0 < len(perturbed) < 12 and all(loss > clean for loss in perturbed)


def test_box_objective_uses_the_boxes_of_a_single_slice(phantom_root):
    boxes = read_annotations(phantom_root / "singlecoil_bb_train.csv")
    first = boxes.iloc[0]
    key = (f"{first['filename']}.h5", int(first["slice"]) - 1)
    model, pipeline, batch = _model(), UnetPipeline(), _batch(phantom_root, keys=[key])
    clean = CleanObjective()(model, pipeline, batch, _generator())
    with_boxes = BoxObjective(AnnotationIndex(boxes), beta=10.0)(model, pipeline, batch,
                                                                 _generator())
    assert with_boxes > clean  # batch 1 carries its box term


@pytest.mark.parametrize("options, message", [
    (dict(beta=-1.0), "loss weights must be >= 0"),
    (dict(adv_fraction=1.5), "adv_fraction must be in \\[0, 1\\]"),
    (dict(n_candidates=0), "n_candidates must be at least 1"),
    (dict(domain="kspace"), "unknown domain"),
    (dict(region_loss="l2"), "unknown region_loss 'l2'"),
    (dict(target_scale=-1.0), "target_scale must be a positive number"),
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
    irim = robust_preset("demo", "irim", 4, "fnaf").objective.build().features
    assert irim.n_pixels == (10, 1000) and irim.sizes((128, 128)) == (10, 160)  # area-scaled
    assert irim.sizes((320, 320)) == (10, 1000) and irim.sizes((16, 16)) == (10, 10)
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


@pytest.mark.slow  # over ~10 s: `make test` runs it, a bare `pytest` does not
def test_paper_preset_fnaf_fine_tune_sees_features_at_its_batch_of_1(tmp_path, monkeypatch):
    """A dry run of the paper preset's FNAF U-Net (batch 1, chans 32, 320x320 images of a
    paper-geometry phantom): a few engine steps, counting the slices that carry a feature."""
    import fnaf.objectives
    from fnaf.data.phantom import PhantomConfig, write_phantom
    from fnaf.runs import build_model, datasets, transforms
    from fnaf.train import Settings, fit

    root = write_phantom(tmp_path / "knee", PhantomConfig("paper", 1, 1, 6, seed=1))
    config = robust_preset("paper", "unet", 4, "fnaf", data_root=str(root))
    assert config.batch_size == 1 and config.objective.adv_fraction == 0.5
    perturbed = []

    def counting(batch, features):
        perturbed.append(len(batch.fname))
        return perturb(batch, features)

    perturb = fnaf.objectives.perturb
    monkeypatch.setattr(fnaf.objectives, "perturb", counting)
    model = build_model(config)
    train, val = datasets(config)
    train_transform, val_transform = transforms(config)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.optim.lr)
    fit(model, UnetPipeline(), config.objective.build(), SeededSlices(train, train_transform),
        Validator(UnetPipeline(), val, val_transform), optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.StepLR(optimizer, 1),
        settings=Settings(epochs=1, batch_size=config.batch_size, progress=False),
        checkpoint_dir=tmp_path / "run", device="cpu")
    assert 0 < sum(perturbed) < 6  # 6 steps of 1 slice, each perturbed with probability 1/2


def test_the_released_training_terms_change_the_loss_and_the_run(phantom_root):
    """The released U-Net code's L1 inside T and the I-RIM code's √2 target are options; at
    their defaults the run keys stay those of the runs already cached."""
    model, batch = _model(), _batch(phantom_root)

    def loss(**options):
        return FnafObjective(adv_fraction=1.0, **options)(model, UnetPipeline(), batch,
                                                          _generator())

    paper = loss()
    assert loss(region_loss="l1", domain="normalized") != paper
    assert loss(target_scale=2 ** 0.5) > paper  # the too bright target is never reached
    config = robust_preset("smoke", "unet", 4, "fnaf")
    from dataclasses import replace

    released = replace(config, objective=replace(config.objective, region_loss="l1"))
    assert released.key() != config.key()
    assert replace(config, objective=replace(config.objective, region_loss="nmse")).key() \
        == config.key()
