"""The book's first page: one false-negative feature and one measurement attack on chapter 01's
U-Net, as pictures, so that a reader sees both threat models before any table.

* :func:`fnaf_example` — the FNAF paper's random search on a few validation slices; the slice
  where the feature was lost most, rebuilt for the paper's Fig. 2 panels
  (:func:`fnaf.plots.fnaf_panels`).
* :func:`pgd_example` — k-space PGD (Darestani et al., appendix eq. 2) on one slice at one ε,
  beside random noise of the same norm (:func:`pgd_figure`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fnaf.attacks.pgd import KspacePGD
from fnaf.attacks.report import PAPER_GAMMA, attack_dataset
from fnaf.data.batches import collate_slices
from fnaf.devices import resolve_device
from fnaf.metrics import slice_scores
from fnaf.mri import center_crop, ifft2c
from fnaf.pipelines import pipeline_for
from fnaf.runs import AttackConfig, TrainedRun, attack_transform, datasets
from fnaf.runs.replay import replay_attack


def fnaf_example(run: TrainedRun, accel: int, volumes: int = 4, *,
                 device=None) -> tuple[str, dict[str, np.ndarray], float, pd.DataFrame]:
    """The paper's random search (11 features per slice, :class:`AttackConfig`'s defaults) on
    the middle slice of the first ``volumes`` validation volumes; the slice with the largest
    loss inside T, as a title, :func:`~fnaf.runs.replay.replay_attack`'s panels and the
    loss, and the slices searched (one row each: ``fname``, ``slice``, ``loss``, ...)."""
    device = resolve_device(device)
    slices = datasets(run.config)[1]
    slices = slices.only(sorted(volume.fname.name for volume in slices.volumes)[:volumes])
    attack = AttackConfig()
    model, pipeline = run.model.to(device).eval(), pipeline_for(run.config.model)
    report = attack_dataset(attack.build(model, pipeline), slices.middle_slices(1),
                            attack_transform(run.config, accel))
    row = report.slices.sort_values("loss").iloc[-1]
    verdict = "lost (a hit)" if row["loss"] > PAPER_GAMMA else "kept (no hit)"
    title = (f"{row['fname']} slice {row['slice']}: NMSE inside T {row['loss']:.3f} against "
             f"γ = {PAPER_GAMMA}, the feature {verdict}")
    return (title, replay_attack(run, attack, row, accel, device=device), float(row["loss"]),
            report.slices)


def pgd_example(run: TrainedRun, accel: int, eps: float, steps: int = 10, *,
                device=None) -> dict:
    """k-space PGD at ``eps`` on the middle slice of the first validation volume, and random
    noise of the same norm: the ground truth, the clean, attacked and noisy reconstructions,
    the perturbation's image (``(h, w)`` arrays), each reconstruction's ``SSIM`` and the slice
    attacked (``slices``: one row, ``fname`` and ``slice``)."""
    device = resolve_device(device)
    slices = datasets(run.config)[1].middle_slices(1)
    volume, number = slices.samples[0]
    batch = collate_slices(slices, attack_transform(run.config, accel),
                           [(slices.volumes[volume].fname.name, number)]).to(device)
    model, pipeline = run.model.to(device).eval(), pipeline_for(run.config.model)
    result = KspacePGD(model, pipeline, eps, steps=steps)(batch)
    crop = tuple(batch.target.shape[-2:])
    images = {"ground truth": batch.target[0], "clean": result.clean[0],
              "attacked": result.attacked[0], "random noise": result.control[0],
              "perturbation": center_crop(ifft2c(result.perturbation), crop)[0].abs()}
    images = {name: image.detach().cpu().numpy() for name, image in images.items()}
    maxval = float(batch.max_value[0])
    ssim = {name: slice_scores(images["ground truth"], images[name], maxval)["SSIM"]
            for name in ("clean", "attacked", "random noise")}
    return {"images": images, "SSIM": ssim, "eps": eps,
            "slice": f"{batch.fname[0]} slice {int(batch.slice_num[0])}",
            "slices": pd.DataFrame({"fname": [batch.fname[0]],
                                    "slice": [int(batch.slice_num[0])]})}


def pgd_figure(example: dict):
    """:func:`pgd_example`'s images in two rows (the reconstructions, then the noise and the
    perturbation under the clean and the attacked one), each reconstruction titled (in a
    projector's type size) with its ε and SSIM, on the ground truth's grey scale (0 to its
    maximum); the perturbation's image on its own scale, with a labelled colour bar."""
    ssim, eps, images = example["SSIM"], example["eps"], example["images"]
    titles = {"ground truth": "ground truth", "clean": f"clean\nSSIM {ssim['clean']:.3f}",
              "attacked": f"attacked, ε {eps:g}\nSSIM {ssim['attacked']:.3f}",
              "random noise": f"random noise, ε {eps:g}\nSSIM {ssim['random noise']:.3f}",
              "perturbation": "the perturbation\nas an image"}
    figure, axes = plt.subplots(2, 3, figsize=(9.0, 6.6), layout="constrained")
    axes[1, 0].set_visible(False)  # the perturbation's colour bar then widens the last column
    top = float(images["ground truth"].max())
    for ax, (name, image) in zip([*axes[0], *axes[1, 1:]], images.items()):
        if name == "perturbation":
            bar = figure.colorbar(ax.imshow(image, cmap="magma"), ax=ax, shrink=0.8)
            bar.set_label("magnitude (data units)")
        else:
            ax.imshow(image, cmap="gray", vmin=0, vmax=top)
        ax.set_title(titles[name], fontsize=13)
        ax.set_axis_off()
    return figure
