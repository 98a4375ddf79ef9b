"""One device rule: a device this machine lacks is a clear error before any work, at every
entry point that computes; ``None`` is the session's device (``set_device``), else CUDA when
present; the computations run where they are told."""

import pytest
import torch

from fnaf import devices
from fnaf.data.transforms import KneeSlice
from fnaf.devices import checked_device, resolve_device, set_device

MISSING = "cuda:7"  # no machine this suite runs on has eight GPUs


@pytest.fixture(autouse=True)
def session_device():
    yield
    set_device(None)  # no test leaves a session device behind


@pytest.mark.parametrize("name, message", [
    (MISSING, "not on this machine"), ("gpu", "not a device name"),
    ("meta", "fnaf computes on 'cpu', 'cuda\\[:n\\]' or 'mps'"),
])
def test_a_device_this_machine_lacks_is_a_clear_error(name, message):
    with pytest.raises(ValueError, match=message):
        checked_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_machine_without_it_names_the_fix():
    with pytest.raises(ValueError, match="0 CUDA devices\\): pass device='cpu'"):
        resolve_device("cuda")
    assert devices.default_device() == torch.device("cpu")


def test_the_session_device_is_what_none_means_until_it_is_reset():
    assert set_device("cpu") == torch.device("cpu") and resolve_device(None).type == "cpu"
    assert devices._session == torch.device("cpu")
    set_device(None)
    assert devices._session is None and resolve_device(None) == devices.default_device()
    with pytest.raises(ValueError, match="not on this machine"):
        set_device(MISSING)


def _entry_points(multicoil_batch):
    """Every entry point that computes, called with the missing device and otherwise inputs
    it never reaches (the device is checked first)."""
    from fnaf.attacks.measurement import measurement_rows
    from fnaf.attacks.windows import feature_errors, location_map
    from fnaf.classifier_scores import predict
    from fnaf.evaluation import reconstruct_volumes
    from fnaf.runs import (
        evaluate_or_load,
        lambda_sweep,
        load_run,
        pgd_frame,
        pgd_or_load,
        reconstructions_or_load,
        replay_attack,
        replay_pgd,
        replay_two_step,
        train_or_load,
        two_step_frame,
        two_step_or_load,
        untrained_preset,
    )
    from fnaf.studies.distribution_shift import example_images, score_settings, shift_scores
    from fnaf.studies.small_features import box_errors, information_loss

    l1 = untrained_preset("smoke", "l1")
    kw = {"device": MISSING}
    return {
        "load_run": lambda: load_run(None, None, MISSING),
        "train_or_load": lambda: train_or_load(None, **kw),
        "evaluate_or_load": lambda: evaluate_or_load(None, **kw),
        "pgd_or_load": lambda: pgd_or_load(None, None, **kw),
        "pgd_frame": lambda: pgd_frame({}, None, **kw),
        "reconstructions_or_load": lambda: reconstructions_or_load(None, **kw),
        "two_step_or_load": lambda: two_step_or_load(l1, None, None, **kw),
        "two_step_frame": lambda: two_step_frame({}, None, None, **kw),
        "lambda_sweep": lambda: lambda_sweep(l1, [1e-3], None, **kw),
        "replay_attack": lambda: replay_attack(None, None, None, **kw),
        "replay_pgd": lambda: replay_pgd(None, None, "f", 0, 0.1, **kw),
        "replay_two_step": lambda: replay_two_step(l1, None, None, "f", 0, 0.1, **kw),
        "reconstruct_volumes": lambda: next(reconstruct_volumes(None, None, None, None, **kw)),
        "measurement_rows": lambda: measurement_rows(None, None, None, [0.1], **kw),
        "predict": lambda: predict(None, None, None, **kw),
        "shift_scores": lambda: shift_scores(None, multicoil_batch, **kw),
        "score_settings": lambda: score_settings([], {}, {}, **kw),
        "example_images": lambda: example_images({}, multicoil_batch, **kw),
        "feature_errors": lambda: feature_errors(None, multicoil_batch, None, 3, **kw),
        "location_map": lambda: location_map(None, multicoil_batch, 3, 2, **kw),
        "information_loss": lambda: information_loss(None, multicoil_batch, [3], 2, **kw),
        "box_errors": lambda: box_errors(None, multicoil_batch, None, **kw),
    }


def test_every_entry_point_checks_its_device_before_any_work(multicoil_batch, tmp_path,
                                                             monkeypatch):
    monkeypatch.setenv("FNAF_RUNS", str(tmp_path / "runs"))
    for name, call in _entry_points(multicoil_batch).items():
        with pytest.raises(ValueError, match="not on this machine"):
            call()
    assert not (tmp_path / "runs").exists()  # nothing was looked up or written


def test_the_slices_go_to_the_device_asked_for(multicoil_batch, monkeypatch):
    from fnaf.attacks.windows import location_map
    from fnaf.studies.distribution_shift import shift_scores
    from fnaf.studies.small_features import box_errors

    moved = []
    original = KneeSlice.to
    monkeypatch.setattr(KneeSlice, "to", lambda self, device: moved.append(
        torch.device(device)) or original(self, device))

    def reconstruct(batch, perturbation):
        assert batch.kspace.device == torch.device("cpu")
        return 0.9 * batch.target

    set_device("cpu")
    shift_scores(reconstruct, multicoil_batch)
    location_map(reconstruct, multicoil_batch, 3, 2)
    assert moved and set(moved) == {torch.device("cpu")}
    with pytest.raises(ValueError, match="not on this machine"):
        box_errors(reconstruct, multicoil_batch, None, device=MISSING)
