"""Robustness-CS's masks and SSIM as options beside fastMRI's, and the attacks' budgets per scale
(Darestani et al.'s setting, issue 28)."""

import numpy as np
import pytest
import torch

from fnaf.attacks.measurement import measurement_rows
from fnaf.data.masks import (
    MASK_STYLES,
    RandomMaskFunc,
    ToleranceMaskFunc,
    central_columns,
    style_mask_function,
)
from fnaf.data.transforms import SliceTransform
from fnaf.metrics import SSIM_VARIANTS, robustness_cs_ssim, slice_scores
from fnaf.runs import ATTACK_STEPS, PgdConfig, TwoStepConfig, attack_steps

SEED = tuple(map(ord, "file1000000.h5"))


def sampled(mask: torch.Tensor) -> np.ndarray:
    return np.nonzero(mask.flatten().numpy())[0]


@pytest.mark.parametrize("width, count, centre", [(368, 92, (171, 197)), (372, 93, (173, 199))])
def test_robustness_cs_mask_keeps_w_over_4_columns_and_a_centre_of_7_percent(width, count,
                                                                             centre):
    mask_func = style_mask_function("robustness-cs", (4,))
    mask, num_low = mask_func((640, width, 2), seed=SEED)
    # W / sum(mask) within 4 ± 0.03 leaves one count at these widths
    assert len(sampled(mask)) == count and num_low == round(width * 0.07) == 26
    assert mask.flatten()[centre[0]:centre[1]].eq(1).all()  # pad = (W - 26 + 1) // 2
    again, _ = style_mask_function("robustness-cs", (4,))((640, width, 2), seed=SEED)
    assert torch.equal(mask, again)  # seeded: one mask per seed
    other, _ = mask_func((640, width, 2), seed=(1, 2, 3))
    assert not torch.equal(mask, other)


def test_the_first_draw_is_fastmris_mask_of_the_same_seed():
    for seed in range(40):  # a seed whose first fastMRI draw is already within the tolerance
        fastmri, _ = RandomMaskFunc([0.07], [4])((640, 368, 2), seed=seed)
        if len(sampled(fastmri)) == 92:
            break
    mask, _ = ToleranceMaskFunc(0.07, 4)((640, 368, 2), seed=seed)
    assert torch.equal(mask, fastmri)


@pytest.mark.parametrize("width, kept, bounds", [(368, 320, (24, 344)), (372, 320, (26, 346)),
                                                 (40, 32, (4, 36)), (320, 320, (0, 320))])
def test_central_columns_are_the_authors_w_over_2_plus_minus_160(width, kept, bounds):
    assert central_columns(width, kept) == bounds


def test_the_transform_zeroes_the_mask_outside_the_targets_width():
    kspace = torch.ones(64, 40, dtype=torch.complex64)
    target, attrs = np.ones((32, 32), dtype=np.float32), {"max": 1.0}
    mask_func = style_mask_function("robustness-cs", (4,))
    full = SliceTransform(mask_func)(kspace, None, target, attrs, "file1.h5", 0).mask.flatten()
    kept = SliceTransform(mask_func, target_columns=True)(kspace, None, target, attrs,
                                                          "file1.h5", 0).mask.flatten()
    assert len(sampled(full)) == 10  # 40 / 10 = 4
    assert kept[:4].eq(0).all() and kept[36:].eq(0).all()
    assert torch.equal(kept[4:36], full[4:36])


def test_mask_styles_are_checked_by_name():
    assert MASK_STYLES[0] == "fastmri"  # the default
    with pytest.raises(ValueError, match=r"unknown mask_style 'equispaced'; accepted: "
                                         r"\['fastmri', 'robustness-cs'\]"):
        style_mask_function("equispaced", (4,))
    with pytest.raises(ValueError, match=r"at \[4\]x only, not \[8\]x: use accel=4 or "
                                         "mask_style='fastmri'"):
        style_mask_function("robustness-cs", (8,))
    assert isinstance(style_mask_function("fastmri", (8,)), RandomMaskFunc)


def test_robustness_cs_ssim_is_the_hand_computed_single_window_value():
    # a 7x7 slice has one full 7x7 window (skimage crops the 3-pixel border)
    rng = np.random.default_rng(0)
    gt, pred = rng.uniform(0, 2, (7, 7)), rng.uniform(0, 1, (7, 7))
    matched = (gt - gt.mean()) / gt.std() * pred.std() + pred.mean()
    mx, my = matched.mean(), pred.mean()
    vx, vy = matched.var(ddof=1), pred.var(ddof=1)
    vxy = ((matched - mx) * (pred - my)).sum() / 48
    c1, c2 = (0.01 * matched.max()) ** 2, (0.03 * matched.max()) ** 2
    expected = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert robustness_cs_ssim(gt, pred) == pytest.approx(expected, rel=1e-12)
    # the ground truth's scale and offset do not matter
    assert robustness_cs_ssim(3 * gt + 5, pred) == pytest.approx(expected, rel=1e-12)


def test_slice_scores_take_the_ssim_variant_and_keep_fastmris_by_default():
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 1, (16, 16))
    pred = 0.5 * gt + 0.1 * rng.uniform(0, 1, (16, 16))
    default, theirs = slice_scores(gt, pred, 1.0), slice_scores(gt, pred, 1.0, "robustness-cs")
    assert SSIM_VARIANTS[0] == "fastmri" and default == slice_scores(gt, pred, 1.0, "fastmri")
    assert theirs["SSIM"] == pytest.approx(robustness_cs_ssim(gt, pred))
    assert theirs["SSIM"] > default["SSIM"]  # the halved brightness is forgiven
    assert theirs["PSNR"] == default["PSNR"] and theirs["NMSE"] == default["NMSE"]
    with pytest.raises(ValueError, match=r"unknown ssim_variant 'skimage'; accepted: "
                                         r"\['fastmri', 'robustness-cs'\]"):
        slice_scores(gt, pred, 1.0, "skimage")


@pytest.mark.parametrize("config", [PgdConfig, TwoStepConfig])
def test_the_attack_configs_check_both_options_and_key_them_only_when_set(config):
    with pytest.raises(ValueError, match="unknown mask_style 'radial'"):
        config(mask_style="radial")
    with pytest.raises(ValueError, match="unknown ssim_variant 'ms-ssim'"):
        config(ssim_variant="ms-ssim")
    default = config()
    keys = {default.key(), config(mask_style="robustness-cs").key(),
            config(ssim_variant="robustness-cs").key()}
    assert len(keys) == 3  # the caches of the options do not mix
    # the default's key holds no option (pinned: changing it must be a deliberate version bump)
    assert default.key() == {PgdConfig: "aa4a97042f6a", TwoStepConfig: "6a9ddab3c120"}[config]


def test_measurement_rows_check_the_ssim_variant_before_any_work():
    with pytest.raises(ValueError, match="unknown ssim_variant"):
        measurement_rows(None, None, None, [0.1], ssim_variant="fast")


def test_the_paper_preset_gives_every_attack_the_same_steps():
    assert attack_steps("paper", "pgd") == attack_steps("paper", "two_step")
    assert set(ATTACK_STEPS) == {"smoke", "demo", "paper"}
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        attack_steps("huge", "pgd")
    with pytest.raises(ValueError, match="unknown attack 'fd'"):
        attack_steps("demo", "fd")
