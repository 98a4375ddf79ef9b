"""The dry run's step cap reaches every preset's iteration counts, is validated, and leaves the
uncapped configs (and their cache keys) as they were."""

import pytest

from fnaf.runs import attack_steps, multicoil_preset, preset, robust_preset, set_step_cap
from fnaf.runs.classifier import classifier_preset
from fnaf.runs.untrained import untrained_preset


@pytest.fixture
def cap():
    yield set_step_cap
    set_step_cap(None)


def test_the_cap_reaches_epochs_steps_and_iterations(cap):
    cap(2)
    assert preset("demo", "unet").epochs == 2
    assert robust_preset("demo", "unet", objective="fnaf").epochs == 2
    assert robust_preset("demo", "irim", objective="fnaf").init_from.epochs == 2
    assert multicoil_preset("demo", "varnet").epochs == 2
    assert attack_steps("paper", "pgd") == attack_steps("paper", "two_step") == 2
    assert untrained_preset("paper", "convdecoder").iterations == 2
    assert untrained_preset("demo", "l1", iterations=50).iterations == 2
    assert classifier_preset("demo").epochs == 2
    assert preset("smoke", "unet").epochs == 2  # below the cap: unchanged
    assert attack_steps("smoke", "pgd") == 2


def test_a_capped_config_has_its_own_cache_key(cap):
    uncapped = preset("demo", "unet", (4, 8)).key(), untrained_preset("demo", "l1").key()
    cap(1)
    assert preset("demo", "unet", (4, 8)).key() != uncapped[0]
    assert untrained_preset("demo", "l1").key() != uncapped[1]


def test_no_cap_keeps_the_demo_keys(cap):
    cap(3)
    cap(None)
    assert preset("demo", "unet", (4, 8)).key() == "69e83d34e52a"  # the keys before the cap
    assert robust_preset("demo", "irim", (4, 8), "fnaf").key() == "329f99070bce"
    assert untrained_preset("demo", "convdecoder").key() == "c5e00c9945b0"
    assert classifier_preset("demo").key() == "070760c2d8a3"
    assert attack_steps("paper", "pgd") == 300


@pytest.mark.parametrize("steps", [0, -1, 1.5, "2", True])
def test_the_cap_is_validated(cap, steps):
    with pytest.raises(ValueError, match="dry_run_steps must be an integer >= 1 or None"):
        cap(steps)
