"""Training objectives: what :func:`fnaf.train.fit` minimises, one call per batch.

An objective is called as ``objective(model, pipeline, batch, generator) -> scalar loss``.

* :class:`CleanObjective` — the model's own loss (U-Net: L1; I-RIM: −SSIM).
* :class:`FnafObjective` — FNAF-robust training (§3.5): a share of each batch carries a random
  feature δ′, and the loss is eq. 5, ``α·L(x, y) + β·NMSE(T(x), T(y))`` with α = 1, β = 10.
* :class:`BoxObjective` — training with real abnormalities (§3.6): T is the slice's annotated
  bounding boxes, one region per label; slices without boxes contribute the clean term only.

Both robust objectives take one forward and one backward pass per batch: clean and perturbed
samples go through the model together.
"""

from __future__ import annotations

import math

import torch

from fnaf.attacks.features import FeatureSpec
from fnaf.attacks.search import (
    DOMAINS,
    REGION_LOSSES,
    check_domain,
    check_target_scale,
    perturb,
    region_loss,
    region_nmse,
)
from fnaf.data.annotations import AnnotationIndex
from fnaf.data.transforms import repeat_slices, select_slices

#: Eq. 5's weights in the paper's training: the model's own loss and the NMSE inside T.
PAPER_ALPHA, PAPER_BETA = 1.0, 10.0
#: The share of each batch that carries a feature (§3.5), and features drawn per perturbed
#: slice (1: a random feature; more: the worst of them, the release's inner random search).
PAPER_ADV_FRACTION, PAPER_CANDIDATES = 0.5, 1


class CleanObjective:
    """The model's own loss on the clean batch (U-Net: L1; I-RIM: −SSIM)."""

    def __call__(self, model, pipeline, batch, generator):
        return pipeline.loss(pipeline(model, batch), batch)


def _check_weights(alpha: float, beta: float, domain: str) -> None:
    if alpha < 0 or beta < 0:
        raise ValueError(f"the loss weights must be >= 0 (alpha={alpha}, beta={beta}); the "
                         f"paper trains with alpha={PAPER_ALPHA:g}, beta={PAPER_BETA:g}")
    check_domain(domain)


def adversarial_rows(count: int, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Which of ``count`` slices get a feature: ``fraction * count`` of them, drawn at random.

    A non-integer ``fraction * count`` is rounded up with probability equal to its fractional
    part (stochastic rounding), so the expected share is ``fraction`` at every batch size; at
    batch 1 each slice is perturbed with probability ``fraction``, where plain rounding gave
    ``round(0.5) = 0`` perturbed slices for ever. An integer ``fraction * count`` draws nothing
    extra. Returns the rows as a 1-D integer tensor on the generator's device.
    """
    expected = fraction * count
    n_adv = math.floor(expected)
    if expected > n_adv:
        draw = torch.rand((), generator=generator, device=generator.device)
        n_adv += int(draw.item() < expected - n_adv)
    return torch.randperm(count, generator=generator, device=generator.device)[:n_adv]


class FnafObjective:
    """FNAF-robust training (the paper's §3.5 and eq. 5).

    Each step, a share ``adv_fraction`` of the batch (drawn at random; see
    :func:`adversarial_rows`, exact in expectation at any batch size, batch 1 included) gets a
    fresh random feature drawn by ``features`` (a :class:`~fnaf.attacks.features.FeatureSpec`,
    the attacks' own; the paper: 10 connected pixels for the U-Net, 10-1000 for the I-RIM); with
    ``n_candidates > 1`` the worst of that many features is used instead (inner maximisation by
    random search, evaluated without gradients). The whole batch then goes through the model
    once, and the loss is ``alpha * L_model`` over all samples (the perturbed ones against
    their perturbed targets) plus ``beta * NMSE`` inside T averaged over the perturbed samples,
    taken in ``domain`` (see :mod:`fnaf.attacks.search`).

    The released code's rules are options (:mod:`fnaf.studies.released_code`):
    ``region_loss="l1"`` (the U-Net code's mean absolute error inside T, with β = 1 in the
    normalised domain) and ``target_scale`` √2 (the I-RIM code's too bright target).
    """

    def __init__(self, features: FeatureSpec = FeatureSpec(), alpha: float = PAPER_ALPHA,
                 beta: float = PAPER_BETA, adv_fraction: float = PAPER_ADV_FRACTION,
                 n_candidates: int = PAPER_CANDIDATES,
                 domain: str = DOMAINS[0], region_loss: str = REGION_LOSSES[0],
                 target_scale: float = 1.0):
        _check_weights(alpha, beta, domain)
        if region_loss not in REGION_LOSSES:
            raise ValueError(f"unknown region_loss {region_loss!r}; accepted: "
                             f"{list(REGION_LOSSES)} (the paper: nmse)")
        check_target_scale(target_scale)
        self.region_loss, self.target_scale = region_loss, target_scale
        if not 0 <= adv_fraction <= 1:
            raise ValueError(f"adv_fraction must be in [0, 1] (the share of each batch that "
                             f"carries a feature), not {adv_fraction}")
        if n_candidates < 1:
            raise ValueError(f"n_candidates must be at least 1, not {n_candidates}")
        self.features, self.alpha, self.beta = features, alpha, beta
        self.adv_fraction, self.n_candidates, self.domain = adv_fraction, n_candidates, domain

    def _worst(self, model, pipeline, chosen, generator):
        """Random search: the worst of ``n_candidates`` features per slice (no gradients)."""
        k = self.n_candidates
        features = self.features.draw(chosen.target, k, generator)
        with torch.no_grad():
            attacked = perturb(repeat_slices(chosen, k), features)
            losses = region_loss(pipeline(model, attacked), attacked,
                                 self.features.regions(features), self.domain,
                                 self.region_loss, self.target_scale)
        best = losses.reshape(-1, k).argmax(dim=1) + torch.arange(
            len(chosen.fname), device=losses.device) * k
        return features[best]

    def __call__(self, model, pipeline, batch, generator):
        chosen_index = adversarial_rows(len(batch.fname), self.adv_fraction, generator)
        n_adv = len(chosen_index)
        if n_adv == 0:
            return self.alpha * pipeline.loss(pipeline(model, batch), batch)
        chosen_index = chosen_index.to(batch.kspace.device)
        chosen = select_slices(batch, chosen_index)
        if self.n_candidates > 1:
            features = self._worst(model, pipeline, chosen, generator)
        else:
            features = self.features.draw(chosen.target, 1, generator)
        attacked = perturb(chosen, features)
        mixed = batch._replace(kspace=batch.kspace.index_copy(0, chosen_index, attacked.kspace),
                               target=batch.target.index_copy(0, chosen_index, attacked.target))
        reconstruction = pipeline(model, mixed)
        loss = self.alpha * pipeline.loss(reconstruction, mixed)
        term = region_loss(reconstruction.rows(chosen_index), attacked,
                           self.features.regions(features), self.domain, self.region_loss,
                           self.target_scale)
        return loss + self.beta * term.mean()


class BoxObjective:
    """Training with real abnormalities (the paper's §3.6): eq. 5 with T the bounding boxes.

    For every (slice, label) of the batch with annotated boxes, T is that label's box mask
    (rasterised in network orientation on the target grid); the box term is the mean NMSE
    over those units. Batches without boxes contribute ``alpha * L_model`` only.
    """

    def __init__(self, annotations: AnnotationIndex, alpha: float = PAPER_ALPHA,
                 beta: float = PAPER_BETA, domain: str = DOMAINS[0]):
        _check_weights(alpha, beta, domain)
        self.annotations, self.alpha, self.beta, self.domain = annotations, alpha, beta, domain

    def __call__(self, model, pipeline, batch, generator):
        reconstruction = pipeline(model, batch)
        loss = self.alpha * pipeline.loss(reconstruction, batch)
        shape = tuple(batch.target.shape[-2:])
        masks = torch.stack([torch.from_numpy(self.annotations.masks(fname, int(number), shape))
                             for fname, number in zip(batch.fname, batch.slice_num)])
        present = masks.any(dim=(-2, -1))
        if not present.any():
            return loss
        rows, labels = torch.nonzero(present, as_tuple=True)
        device = batch.kspace.device
        index = rows.to(device)
        nmse = region_nmse(reconstruction.rows(index), select_slices(batch, index),
                           masks[rows, labels].to(device), self.domain)
        return loss + self.beta * nmse.mean()

