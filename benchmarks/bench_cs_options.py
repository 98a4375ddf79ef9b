"""Robustness-CS's masks and SSIM against fastMRI's (the package's defaults), on the same data.

Masks: the sampled columns of each style at the paper's widths (368, 372; ``--seeds`` seeds each)
and on the demo phantom's validation slices, before and after the columns outside the target's
width are zeroed. SSIM: the zero-filled reconstructions (RSS of the coil images on the target
crop) of the demo phantom's middle validation slices (4 coils, 4x), each scored by both variants
— the same reconstructions, so the difference is the metric's alone. Prints ``name: value``
lines: column counts and effective accelerations per style; ``ssim_fastmri``,
``ssim_robustness_cs`` (means), their ``ssim_difference`` and ``ssim_ratio``, under each mask
style.

    python benchmarks/bench_cs_options.py [--seeds 100] [--threads 1]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from fnaf.data.batches import SeededSlices
from fnaf.data.masks import MASK_STYLES, central_columns, style_mask_function
from fnaf.metrics import slice_scores
from fnaf.mri import center_crop, ifft2c, rss
from fnaf.runs import attack_transform, datasets, multicoil_preset


def column_counts(width: int, seeds: int) -> None:
    """Mean sampled columns of each style at ``width`` (fastMRI's 320-column target)."""
    left, right = central_columns(width, 320)
    for style in MASK_STYLES:
        mask_func = style_mask_function(style, (4,))
        masks = [mask_func((640, width, 2), seed=seed)[0].flatten() for seed in range(seeds)]
        drawn = np.mean([float(mask.sum()) for mask in masks])
        print(f"{style} W={width}: columns {drawn:.2f}, acceleration {width / drawn:.3f}")
        if style == "robustness-cs":
            kept = np.mean([float(mask[left:right].sum()) for mask in masks])
            print(f"{style} W={width} inside the central 320: columns {kept:.2f}, "
                  f"acceleration {width / kept:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for width in (368, 372):
        column_counts(width, args.seeds)
    config = multicoil_preset("demo", "varnet", 4, 4)
    val = datasets(config)[1].middle_slices(1)
    for style in MASK_STYLES:
        slices = SeededSlices(val, attack_transform(config, 4, style))
        scores = {"fastmri": [], "robustness-cs": []}
        columns = []
        for index in range(len(slices)):
            item = slices[index]
            columns.append(float(item.mask.sum()))
            image = center_crop(rss(ifft2c(item.kspace * item.mask)), tuple(item.target.shape))
            for variant in scores:
                scores[variant].append(slice_scores(item.target.numpy(), image.numpy(),
                                                    item.max_value, variant)["SSIM"])
        width = item.kspace.shape[-1]
        fastmri, theirs = np.mean(scores["fastmri"]), np.mean(scores["robustness-cs"])
        print(f"demo masks {style}: {len(columns)} slices, W={width}, columns "
              f"{np.mean(columns):.2f}, acceleration {width / np.mean(columns):.3f}")
        print(f"zero-filled under {style} masks: ssim_fastmri: {fastmri:.4f}, "
              f"ssim_robustness_cs: {theirs:.4f}, ssim_difference: {theirs - fastmri:+.4f}, "
              f"ssim_ratio: {theirs / fastmri:.4f}")


if __name__ == "__main__":
    main()
