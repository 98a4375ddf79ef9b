"""The classifier's runs: patch sets from the annotations, training through the one engine,
the cache, every patch scored, reconstructions cut at the same positions, and early errors."""

import numpy as np
import pandas as pd
import pytest
import torch

import fnaf.runs.classifier
from fnaf.classifier_scores import predict
from fnaf.data.fastmri import FastMRIDataError, SliceDataset, read_volumes
from fnaf.data.patches import PatchBatch, PatchSet
from fnaf.data.sources import data_source
from fnaf.pipelines import ClassifierPipeline
from fnaf.runs import preset, reconstructions_or_load, train_or_load
from fnaf.runs.classifier import classifier_or_load, classifier_preset, patch_data
from fnaf.runs.presets import SMOKE_PHANTOM


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FNAF_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_the_pipeline_resizes_patches_to_the_classifiers_size_and_scores_cross_entropy():
    seen = []

    def model(images):
        seen.append(images.shape)
        return torch.zeros(len(images), 2)

    batch = PatchBatch(torch.zeros(3, 13, 13), torch.tensor([0, 1, 1]), [], [])
    logits = ClassifierPipeline(32)(model, batch)
    assert seen == [(3, 1, 32, 32)]
    assert ClassifierPipeline(32).loss(logits, batch).item() == pytest.approx(np.log(2))


def test_predict_scores_every_patch_including_the_last_partial_batch():
    images = np.random.default_rng(0).normal(size=(5, 8, 8)).astype(np.float32)
    table = pd.DataFrame({"fname": ["a.h5"] * 5, "slice": 0, "row": 0,
                                            "col": 0, "label": [0, 1, 0, 1, 1]})
    patches = PatchSet(images, table, 0.0, 1.0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    scores = predict(model, lambda m, batch: m(batch.image), patches, batch_size=2)
    assert len(scores.probabilities) == 5 and scores.labels.tolist() == [0, 1, 0, 1, 1]
    expected = torch.softmax(model(torch.from_numpy(images)), dim=1)[:, 1].detach().numpy()
    assert np.allclose(scores.probabilities, expected, atol=1e-6)


def test_patches_come_from_the_annotations_and_are_standardised_by_the_training_set(cache):
    data = patch_data(classifier_preset("smoke"))
    train, val = data.tables["train"], data.tables["val"]
    assert len(train) <= 64 and (train["label"] == 1).sum() == (train["label"] == 0).sum()
    assert float(data.targets["train"].images.mean()) == pytest.approx(0.0, abs=1e-4)
    assert data.size == 3  # 32 px of 320 on the smoke phantom's 32-px grid
    folder = data_source(None, phantom=SMOKE_PHANTOM).split("val")
    targets = read_volumes(folder, sorted(set(val["fname"])), "reconstruction_esc")
    again = data.on(targets)
    assert torch.equal(again.images, data.targets["val"].images)


def test_a_classifier_trains_through_the_engine_and_is_cached(cache, monkeypatch):
    config = classifier_preset("smoke", strategy="all")
    with pytest.warns(UserWarning, match="no ImageNet SqueezeNet 1.0 weight file"):
        run = classifier_or_load(config, cache, progress=False)
    assert run.metrics["best_epoch"] >= 1 and np.isfinite(run.metrics["validation"]["loss"])
    assert len(run.metrics["history"]) == config.epochs
    assert run.metrics["standardisation"]["std"] > 0
    monkeypatch.setattr(fnaf.runs.classifier, "fit", lambda *a, **k: pytest.fail("retrained"))
    again = classifier_or_load(config, cache, progress=False)
    for key, value in run.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[key])


@pytest.mark.parametrize("options, error, message", [
    (dict(strategy="heads"), ValueError, "strategy"),
    (dict(patch_size=0), ValueError, "patch size must be an integer"),
    (dict(stride=0), ValueError, "stride must be a positive integer"),
    (dict(head="torchvision"), ValueError, "head"),
    (dict(strategy="scratch", imagenet_weights=__file__), ValueError, "scratch"),
    (dict(imagenet_weights="/nowhere/squeezenet1_0.pth"), FileNotFoundError, "no such file"),
])
def test_bad_classifier_settings_fail_before_any_data_is_read(options, error, message,
                                                             monkeypatch):
    monkeypatch.setattr(fnaf.runs.classifier, "data_source",
                        lambda *a, **k: pytest.fail("data read before validation"))
    with pytest.raises(error, match=message):
        classifier_preset("smoke", **options)


def test_reconstructions_are_written_once_per_volume_in_fastmri_format(cache):
    run = train_or_load(preset("smoke", epochs=1), cache, progress=False)
    val = SliceDataset(data_source(None, phantom=run.config.phantom).split("val"))
    names = [volume.fname.name for volume in val.volumes]
    folder = reconstructions_or_load(run, 4, names[:1])
    assert sorted(path.name for path in folder.iterdir()) == names[:1]
    written = (folder / names[0]).stat().st_mtime_ns
    reconstructions_or_load(run, 4, names)
    assert (folder / names[0]).stat().st_mtime_ns == written  # not reconstructed again
    volumes = read_volumes(folder, names)
    assert volumes[names[1]].shape == (val.volumes[1].num_slices, 32, 32)
    with pytest.raises(FastMRIDataError, match=r"1 volume\(s\) missing: \['nope.h5'\]"):
        read_volumes(folder, ["nope.h5"])
