import numpy as np
import pytest
import torch

from fnaf.data.masks import (
    EquispacedMaskFractionFunc,
    RandomMaskFunc,
    apply_mask,
    create_mask_for_mask_type,
    volume_seed,
)

SEED = tuple(map(ord, "file1000000.h5"))


def columns(mask):
    return np.nonzero(mask.squeeze().numpy())[0]


def test_random_mask_matches_fastmri_anchor_4x():
    mask, num_low = RandomMaskFunc([0.08], [4])((640, 368, 2), seed=SEED)
    assert mask.shape == (1, 368, 1) and mask.dtype == torch.float32
    assert num_low == 29  # round(368 * 0.08)
    sampled = columns(mask)
    assert len(sampled) == 88
    assert sampled[:8].tolist() == [4, 9, 10, 14, 23, 24, 28, 29]


def test_random_mask_matches_fastmri_anchor_8x():
    mask, num_low = RandomMaskFunc([0.04], [8])((640, 368, 2), seed=SEED)
    assert (num_low, int(mask.sum())) == (15, 46)


def test_two_settings_consume_one_draw_as_fastmri():
    mask, num_low = RandomMaskFunc([0.08, 0.04], [4, 8])((640, 368, 2), seed=SEED)
    assert (num_low, int(mask.sum())) == (15, 45)


def test_centre_block_placement():
    mask, num_low = RandomMaskFunc([0.08], [4])((640, 368, 2), seed=SEED)
    pad = (368 - num_low + 1) // 2
    assert mask.squeeze()[pad : pad + num_low].all()


def test_seeded_call_does_not_disturb_the_running_stream():
    a, b = RandomMaskFunc([0.08], [4], seed=7), RandomMaskFunc([0.08], [4], seed=7)
    a((10, 64, 2), seed=SEED)
    assert torch.equal(a((10, 64, 2))[0], b((10, 64, 2))[0])
    assert not torch.equal(a((10, 64, 2))[0], a((10, 64, 2))[0])  # unseeded calls differ


def test_equispaced_fraction_keeps_w_over_acc_columns():
    for width, acc, fraction in [(368, 4, 0.08), (368, 8, 0.04), (148, 4, 0.08)]:
        mask_func = EquispacedMaskFractionFunc([fraction], [acc])
        mask, num_low = mask_func((640, width, 2), seed=SEED)
        assert abs(mask.sum().item() - width / acc) <= 2
        again, _ = mask_func((640, width, 2), seed=SEED)
        assert torch.equal(mask, again)
    mask, _ = EquispacedMaskFractionFunc([0.08], [4])((1, 368, 2), offset=0)
    assert mask.squeeze()[0] == 1


@pytest.mark.parametrize(
    "fractions, accelerations, message",
    [([0.08], [1], "greater than 1"), ([1.2], [4], "outside"), ([0.0], [4], "outside"),
     ([0.08, 0.04], [4], "one centre fraction per acceleration"),
     ([0.5], [4], "center fraction 0.5 at acceleration 4 keeps 50% .* below 0.25"),
     ([0.25], [4], "center fraction 0.25 at acceleration 4 keeps 25%")],
)
@pytest.mark.parametrize("mask_type", [RandomMaskFunc, EquispacedMaskFractionFunc])
def test_invalid_arguments_raise(mask_type, fractions, accelerations, message):
    with pytest.raises(ValueError, match=message):
        mask_type(fractions, accelerations)


def test_impossible_pairs_are_refused_for_any_combination():
    with pytest.raises(ValueError, match="center fraction 0.2 at acceleration 8"):
        RandomMaskFunc([0.04, 0.2], [4, 8], allow_any_combination=True)


@pytest.mark.parametrize("mask_type", [RandomMaskFunc, EquispacedMaskFractionFunc])
def test_a_too_narrow_image_is_refused_with_its_width(mask_type):
    """round(8 x 0.24) = 2 centre columns, and 8 / 4 = 2 columns in all: the random mask's
    probability would be 0/0 and the equispaced spacing would divide by zero."""
    mask_type([0.24], [4])((1, 368, 2), seed=SEED)
    with pytest.raises(ValueError, match="8 columns at centre fraction 0.24 give 2 centre"):
        mask_type([0.24], [4])((1, 8, 2), seed=SEED)


def test_shape_must_be_three_dimensional():
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        RandomMaskFunc([0.08], [4])((640, 368))


def test_create_mask_for_mask_type():
    assert isinstance(create_mask_for_mask_type("equispaced_fraction", [0.08], [4]),
                      EquispacedMaskFractionFunc)
    with pytest.raises(ValueError, match="unknown mask type"):
        create_mask_for_mask_type("magic", [0.08], [4])


def test_apply_mask_on_complex_kspace_with_padding():
    kspace = torch.ones(2, 16, 40, dtype=torch.complex64)
    masked, mask, _ = apply_mask(kspace, RandomMaskFunc([0.08], [4]), seed=SEED, padding=(3, 37))
    assert mask.shape == (1, 40)
    assert mask[0, :3].sum() == 0 and mask[0, 37:].sum() == 0
    assert torch.equal(masked, kspace * mask)
    reference, _ = RandomMaskFunc([0.08], [4])((16, 40, 2), seed=SEED)
    assert torch.equal(mask[0, 3:37], reference.squeeze()[3:37])


def test_volume_seed_uses_the_file_name():
    assert volume_seed("/data/knee/singlecoil_val/file1000000.h5") == SEED
