"""False-negative adversarial features: perturbed samples, the attack loss, and two attacks.

Perturbation (eq. 2-4). A feature δ′ (magnitudes on the target grid) is added to the
fully-sampled complex image y in phase with it, so the fully-sampled magnitude becomes exactly
|y| + δ′ (the paper works on magnitudes; adding in phase keeps the scan's own complex data). The
k-space becomes F(y + δ′), so the model input is built, by the model's own pipeline and with the
slice's own mask, from U(y + δ′) = U(y) + U(δ′); the target is y + δ′. Multi-coil, δ′ enters
each coil image in proportion to its share of the root-sum-of-squares, so the RSS target becomes
exactly RSS(y) + δ′ as well.

Loss (eq. 5, evaluation: α = 0, β = 1). NMSE inside T, normalised by the target's energy in T,
per slice. ``domain="magnitude"`` (default) compares the reconstruction with the target on the
image's intensity scale; ``domain="normalized"`` compares them in the U-Net's mean/std-normalised
input domain, as the released U-Net code does (for the I-RIM, which has no such domain, it equals
the magnitude domain). Every evaluation also reports

* the *control*: the same regions T on the clean slice (no feature) through the same pipeline —
  the false-alarm level of the loss;
* the *feature recovery error* ``||T((x′ − x) − δ′)||² / ||δ′||²`` (x, x′: reconstructions
  without and with the feature), which has no background floor;
* the *information preservation* distance (eq. 7-8) ``D = MSE(U(y+δ′), U(y))`` on the zero-filled
  magnitudes of the target crop, divided by the clean zero-filled image's variance (the
  normalised input domain of the released code), accepted when ``D > ε``; and the plain MSE
  (``information_mse``, in squared intensity units, the paper's D).

Attacks are torchattacks-style: configured once, called on a batch; they put the model in eval
mode (and restore it), run without autograd, and return an :class:`AttackResult`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
from torch import nn

from fnaf.attacks.features import PAPER_REGION, Features, FeatureSpec, central_square, scaled
from fnaf.data.transforms import KneeSlice, repeat_slices, unet_target
from fnaf.devices import module_device
from fnaf.losses import masked_l1, masked_nmse
from fnaf.memory import memory_budget, slice_cost
from fnaf.mri import center_crop, fft2c, ifft2c, rss
from fnaf.pipelines import input_magnitude, zero_filled_magnitude

#: Where the attack loss's NMSE is taken; the first is the default.
DOMAINS = ("magnitude", "normalized")


def image_phase(batch: KneeSlice) -> torch.Tensor:
    """Where δ′ goes on the target crop: single-coil the fully-sampled image's phase ``y / |y|``
    ``(B, h, w)``; multi-coil each coil image over the root-sum-of-squares ``y_c / RSS(y)``
    ``(B, C, h, w)``, so the RSS of ``y_c + δ′ y_c / RSS(y)`` is exactly ``RSS(y) + δ′``."""
    window = center_crop(ifft2c(batch.kspace), tuple(batch.target.shape[-2:]))
    magnitude = window.abs() if window.ndim == 3 else rss(window)[:, None]
    return torch.where(magnitude > 0, window / magnitude.clamp_min(1e-30),
                       torch.ones_like(window))


def perturb(batch: KneeSlice, features: Features, phase: torch.Tensor | None = None) -> KneeSlice:
    """The batch with δ′ added in image space (eq. 2-4): k-space ``F(y + δ′)``, target ``|y| + δ′``.

    ``features`` holds one feature per slice on the target grid ``(B, h, w)``; it is placed in
    the central crop of the full field of view, in phase with y (``phase``: :func:`image_phase`
    of the batch, computed here if not given; multi-coil, in each coil by its share of the
    root-sum-of-squares target).
    """
    phase = image_phase(batch) if phase is None else phase
    height, width = batch.kspace.shape[-2:]
    crop = tuple(batch.target.shape[-2:])
    top, left = (height - crop[0]) // 2, (width - crop[1]) // 2
    values = features.values.to(phase.real)
    delta = torch.zeros_like(batch.kspace)
    delta[..., top:top + crop[0], left:left + crop[1]] = (
        values if phase.ndim == 3 else values[:, None]) * phase
    return batch._replace(kspace=batch.kspace + fft2c(delta),
                          target=batch.target + features.values.to(batch.target))


def information_distance(clean: torch.Tensor, perturbed: torch.Tensor,
                         relative: bool = True) -> torch.Tensor:
    """Eq. 7: ``MSE(|U(y+δ′)|, |U(y)|)`` per slice; ``relative`` divides it by the clean
    input's variance (scale-free, so one ε fits any data)."""
    mse = (perturbed - clean).pow(2).mean(dim=(-2, -1))
    return mse / clean.var(dim=(-2, -1)).clamp_min(1e-30) if relative else mse


#: Eq. 5's term inside T: the paper's NMSE, or the released U-Net code's mean absolute error.
REGION_LOSSES = ("nmse", "l1")


def _in_domain(reconstruction, batch: KneeSlice, domain: str):
    """The reconstruction and the target compared in ``domain`` (module docstring)."""
    if domain == "normalized" and reconstruction.mean is not None:
        return reconstruction.output, unet_target(batch.target, reconstruction.mean,
                                                  reconstruction.std)
    return reconstruction.magnitude, batch.target


def region_nmse(reconstruction, batch: KneeSlice, region: torch.Tensor,
                domain: str = "magnitude") -> torch.Tensor:
    """Eq. 5's NMSE inside ``region`` per slice, in the given domain (module docstring)."""
    return masked_nmse(*_in_domain(reconstruction, batch, domain), region)


def region_loss(reconstruction, batch: KneeSlice, region: torch.Tensor,
                domain: str = "magnitude", kind: str = "nmse",
                target_scale: float = 1.0) -> torch.Tensor:
    """Eq. 5's term inside ``region`` per slice: ``kind`` ``"nmse"`` (the paper) or ``"l1"``
    (:func:`fnaf.losses.masked_l1`, the released U-Net code's training term), against the
    target times ``target_scale`` (1: the paper; √2: the released I-RIM code's target)."""
    if target_scale != 1.0:
        batch = batch._replace(target=batch.target * target_scale)
    prediction, target = _in_domain(reconstruction, batch, domain)
    return (masked_nmse if kind == "nmse" else masked_l1)(prediction, target, region)


@dataclass
class AttackResult:
    """What an attack found, per slice of the batch (``B`` slices, ``K`` evaluations each).

    ``loss`` ``(B,)`` the worst (largest) loss found and ``losses`` ``(B, K)`` all of them;
    ``control``, ``recovery``, ``information``, ``information_mse`` ``(B,)`` at the worst
    candidate; ``controls`` ``(B, K)`` the control (the clean slice scored in each candidate's
    T) of every candidate, so ``controls.amax(1)`` is the false-alarm statistic read the same
    way as the attack (the max over the same K regions); ``ceiling`` ``(B,)`` the loss of a
    reconstruction that is perfect but for the feature, which it loses completely
    (``‖δ′‖²_T / ‖y + δ′‖²_T`` on the magnitude scale): a loss above γ is only possible where
    it exceeds γ, which depends on the tissue's contrast around T; ``features`` and
    ``region`` ``(B, h, w)`` the worst feature and its T; ``adversarial`` the perturbed batch.
    """

    loss: torch.Tensor
    losses: torch.Tensor
    control: torch.Tensor
    controls: torch.Tensor
    ceiling: torch.Tensor
    recovery: torch.Tensor
    information: torch.Tensor
    information_mse: torch.Tensor
    features: Features
    region: torch.Tensor
    adversarial: KneeSlice


#: The released I-RIM code stacks the target's magnitude as both the real and the imaginary
#: part before taking the modulus: its FNAF target is √2 too bright (``fnaf_reference.md`` §12).
RELEASED_IRIM_TARGET_SCALE = math.sqrt(2)


def check_target_scale(target_scale: float) -> None:
    """``ValueError`` unless the target's scale is a positive number."""
    if not (isinstance(target_scale, (int, float)) and target_scale > 0):
        raise ValueError(f"target_scale must be a positive number (1: the paper; √2: the "
                         f"released I-RIM code), not {target_scale!r}")


#: The U-Net's input statistics in the attack: each slice's own (fastMRI), or the batch's.
NORMALIZATIONS = ("slice", "batch")


def check_normalization(normalization: str) -> None:
    """``ValueError`` naming an unknown input normalisation and the accepted ones."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {normalization!r}; accepted: "
                         f"{list(NORMALIZATIONS)}")


def check_domain(domain: str) -> None:
    """``ValueError`` naming an unknown NMSE domain and the accepted ones."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; accepted: {list(DOMAINS)}")


class FnafAttack:
    """Shared machinery: drawing features, T, and evaluating candidates in batches.

    Args:
        model: the reconstruction network; ``pipeline``: its :mod:`fnaf.pipelines` pipeline.
        domain: ``"magnitude"`` or ``"normalized"`` (see the module docstring).
        chunk_size: candidate reconstructions per forward pass; a memory setting (the results
            do not depend on it). Default: on CUDA as many as fit the device's free memory
            (:meth:`fitting_chunk`, measured at the first batch); 8 on a CPU, where larger
            chunks fall out of cache and run slower (``benchmarks/bench_attacks.py``).
        seed: seeds the attack's generator (on the model's device); :meth:`seeded` reseeds it
            for a batch from ``(seed, position)``, so a dataset's results do not depend on
            which batches one process attacked before.
        target_scale: the loss and the control compare the reconstruction with the target times
            this factor: 1 (the paper), or :data:`RELEASED_IRIM_TARGET_SCALE` (the released
            I-RIM code's target, √2 too bright).
        normalization: the U-Net's input statistics: ``"slice"`` (each slice's own, fastMRI)
            or ``"batch"`` (the mean and std of the batch's clean zero-filled inputs, as the
            released U-Net code normalised its batches; the I-RIM has no such statistics).
        feature_options: the features and T, :class:`~fnaf.attacks.features.FeatureSpec`'s
            fields (``n_pixels``, ``border``, ``region``, ``shape``, ``region_rule``, ...).
    """

    def __init__(self, model: nn.Module, pipeline, *, domain: str = DOMAINS[0],
                 chunk_size: int | None = None, seed: int = 0, target_scale: float = 1.0,
                 normalization: str = NORMALIZATIONS[0], **feature_options):
        self.features = FeatureSpec(**feature_options)
        check_domain(domain)
        check_target_scale(target_scale)
        check_normalization(normalization)
        if normalization == "batch" and getattr(pipeline, "name", None) != "unet":
            raise ValueError("normalization='batch' is the U-Net's input normalisation; the "
                             f"{getattr(pipeline, 'name', 'given')} pipeline has none")
        self.target_scale, self.normalization = target_scale, normalization
        self.model, self.pipeline, self.domain = model, pipeline, domain
        self.device = module_device(model)
        if chunk_size is None and self.device.type != "cuda":
            chunk_size = 8
        if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
            raise ValueError(f"chunk_size must be an integer >= 1 or None, not {chunk_size!r}")
        self.chunk_size = chunk_size
        self.seed = seed
        self.generator = torch.Generator(self.device)
        self.seeded(0)

    def seeded(self, position: int) -> FnafAttack:
        """The attack with its generator reseeded for the batch at ``position`` (a hash of
        ``(seed, position)``): the batch's draws are the same whoever attacks it, and when."""
        if not isinstance(position, int) or position < 0:
            raise ValueError(f"position must be an integer >= 0 (the batch's index), not "
                             f"{position!r}")
        digest = hashlib.sha256(f"{self.seed},{position}".encode()).digest()
        self.generator.manual_seed(int.from_bytes(digest[:8], "little"))
        return self

    def fitting_chunk(self, batch: KneeSlice) -> int:
        """The most candidate reconstructions of ``batch``'s first slice that fit
        :func:`~fnaf.memory.memory_budget` of the model's device in one forward pass."""
        def reconstruct(candidates: KneeSlice) -> None:
            with torch.no_grad():
                self._reconstruct(candidates, None)

        return slice_cost(reconstruct, batch, self.device).batch_for(
            memory_budget(self.device), parameter="chunk_size (AttackConfig.chunk_size, the "
            "CLI's --attack-chunk-size)")

    def draw(self, batch: KneeSlice, per_slice: int) -> Features:
        """``per_slice`` random features for every slice (adjacent), ``(B * per_slice, h, w)``."""
        return self.features.draw(batch.target, per_slice, self.generator)

    def regions(self, features: Features) -> torch.Tensor:
        """T of each feature."""
        return self.features.regions(features)

    def _reconstruct(self, batch: KneeSlice, statistics: tuple | None):
        """The model's reconstruction; with given input ``statistics`` (``normalization=
        "batch"``) instead of each slice's own."""
        if statistics is None:
            return self.pipeline(self.model, batch)
        return self.pipeline(self.model, batch, statistics=statistics)

    @torch.no_grad()
    def evaluate(self, batch: KneeSlice, features: Features, per_slice: int) -> dict:
        """Loss, control, recovery and information distance of ``per_slice`` candidates per
        slice (``features`` ordered as :meth:`draw` returns them); each value is
        ``(B * per_slice,)``."""
        statistics = None
        if self.normalization == "batch":
            inputs = zero_filled_magnitude(batch)
            statistics = (inputs.mean().expand(len(inputs)), inputs.std().expand(len(inputs)))
        clean = self._reconstruct(batch, statistics)
        clean_inputs = input_magnitude(clean, batch)
        phase = image_phase(batch)
        regions = self.regions(features)
        results = {name: [] for name in ("loss", "control", "ceiling", "recovery",
                                          "information", "information_mse")}
        candidates = repeat_slices(batch, per_slice)
        if self.chunk_size is None:
            self.chunk_size = self.fitting_chunk(batch)
        for start in range(0, len(candidates.fname), self.chunk_size):
            part = slice(start, start + self.chunk_size)
            owner = torch.arange(part.start, min(part.stop, len(candidates.fname)),
                                 device=self.device) // per_slice
            chunk = KneeSlice(*(field[part] for field in candidates))
            delta = features[part]
            attacked = perturb(chunk, delta, phase[owner])
            reconstruction = self._reconstruct(attacked, None if statistics is None else
                                               tuple(value[owner] for value in statistics))
            region = regions[part]
            results["loss"].append(region_loss(reconstruction, attacked, region, self.domain,
                                               target_scale=self.target_scale))
            results["control"].append(region_loss(clean.rows(owner), chunk, region, self.domain,
                                                  target_scale=self.target_scale))
            results["ceiling"].append(masked_nmse(chunk.target, attacked.target, region))
            change = reconstruction.magnitude - clean.magnitude[owner]
            results["recovery"].append(masked_nmse(change, delta.values, region))
            clean_input, perturbed_input = clean_inputs[owner], input_magnitude(
                reconstruction, attacked)
            results["information"].append(information_distance(clean_input, perturbed_input))
            results["information_mse"].append(information_distance(
                clean_input, perturbed_input, relative=False))
        return {name: torch.cat(values) for name, values in results.items()}

    def _result(self, batch: KneeSlice, features: Features, values: dict,
                per_slice: int) -> AttackResult:
        losses = values["loss"].reshape(-1, per_slice)
        best = losses.argmax(dim=1) + torch.arange(len(losses), device=losses.device) * per_slice
        worst = features[best]
        return AttackResult(
            loss=losses.amax(dim=1), losses=losses, control=values["control"][best],
            controls=values["control"].reshape(-1, per_slice), ceiling=values["ceiling"][best],
            recovery=values["recovery"][best], information=values["information"][best],
            information_mse=values["information_mse"][best], features=worst,
            region=self.regions(worst), adversarial=perturb(batch, worst))

    def __call__(self, batch: KneeSlice) -> AttackResult:
        was_training = self.model.training
        self.model.eval()
        try:
            return self.attack(batch.to(self.device))
        finally:
            self.model.train(was_training)

    def attack(self, batch: KneeSlice) -> AttackResult:
        raise NotImplementedError


class RandomSearch(FnafAttack):
    """The paper's random search: ``n_candidates`` random features per slice (paper: 11), each
    at a random location with a random shape and intensities; the worst per slice is kept."""

    def __init__(self, model: nn.Module, pipeline, n_candidates: int = 11, **options):
        if n_candidates < 1:
            raise ValueError(f"n_candidates must be at least 1, not {n_candidates}")
        super().__init__(model, pipeline, **options)
        self.n_candidates = n_candidates

    def attack(self, batch: KneeSlice) -> AttackResult:
        features = self.draw(batch, self.n_candidates)
        values = self.evaluate(batch, features, self.n_candidates)
        return self._result(batch, features, values, self.n_candidates)


class FiniteDifference(FnafAttack):
    """Gradient ascent on the feature's location with central differences (eq. 6).

    One random feature per slice; its shape and intensities stay fixed. Each iteration probes
    ``p ± h/2`` along rows and columns (4 evaluations), estimates the gradient, moves the feature
    ``step`` pixels along it (kept inside the central region) and evaluates there. With the
    initial evaluation the budget is ``1 + 5 * iterations`` (2 iterations = 11, the random
    search's budget); the worst evaluation per slice is kept, as in the released code.

    Args:
        iterations: ascent steps; ``h``: probe distance in pixels (default 10 at 320×320,
            scaled); ``step``: move length in pixels (default ``h``).
    """

    def __init__(self, model: nn.Module, pipeline, iterations: int = 2, h: int | None = None,
                 step: int | None = None, **options):
        if options.get("shape", FeatureSpec.shape) != "connected":
            raise ValueError("the finite-difference attack moves a fixed connected feature; "
                             "shape='walk' is not supported")
        if iterations < 1:
            raise ValueError(f"iterations must be at least 1, not {iterations}")
        super().__init__(model, pipeline, **options)
        self.iterations, self.h, self.step = iterations, h, step

    @property
    def budget(self) -> int:
        return 1 + 5 * self.iterations

    def _limits(self, features: Features, side: int, grid: tuple[int, int]):
        """Allowed shifts ``(low, high)`` per axis that keep each feature inside the region."""
        top, left = central_square(grid, side)
        rows = features.mask.any(dim=-1)
        cols = features.mask.any(dim=-2)
        index_r = torch.arange(grid[0], device=rows.device)
        index_c = torch.arange(grid[1], device=cols.device)
        first_r = torch.where(rows, index_r, grid[0]).amin(-1)
        last_r = torch.where(rows, index_r, -1).amax(-1)
        first_c = torch.where(cols, index_c, grid[1]).amin(-1)
        last_c = torch.where(cols, index_c, -1).amax(-1)
        low = torch.stack([top - first_r, left - first_c], dim=1)
        high = torch.stack([top + side - 1 - last_r, left + side - 1 - last_c], dim=1)
        return low, high

    def attack(self, batch: KneeSlice) -> AttackResult:
        grid = tuple(batch.target.shape[-2:])
        side = (self.features.region if self.features.region is not None
                else scaled(PAPER_REGION, grid[0]))
        h = self.h if self.h is not None else max(2, scaled(10, grid[0]))
        step = self.step if self.step is not None else h
        count = len(batch.fname)
        base = self.draw(batch, 1)
        low, high = self._limits(base, side, grid)
        offset = torch.zeros(count, 2, dtype=torch.long, device=self.device)
        tried_features, tried_values = [], []

        def evaluate(offsets: list[torch.Tensor]) -> torch.Tensor:
            """Loss at each offset list entry; candidates ordered slice-major."""
            stacked = torch.stack(offsets, dim=1).clamp(low[:, None], high[:, None])
            flat = stacked.reshape(-1, 2)
            moved = _repeat(base, len(offsets)).shifted(flat[:, 0], flat[:, 1])
            values = self.evaluate(batch, moved, len(offsets))
            tried_features.append((moved, len(offsets)))
            tried_values.append(values)
            return values["loss"].reshape(count, len(offsets))

        evaluate([offset])
        half = h / 2
        for _ in range(self.iterations):
            probes = []
            for axis in (0, 1):
                for sign in (1, -1):
                    probe = offset.clone()
                    probe[:, axis] += round(sign * half)
                    probes.append(probe)
            losses = evaluate(probes)
            gradient = torch.stack([losses[:, 0] - losses[:, 1],
                                    losses[:, 2] - losses[:, 3]], dim=1) / h
            norm = gradient.norm(dim=1, keepdim=True)
            direction = torch.where(norm > 0, gradient / norm.clamp_min(1e-30),
                                    torch.zeros_like(gradient))
            offset = (offset + torch.round(direction * step).long()).clamp(low, high)
            evaluate([offset])
        features = Features(
            torch.cat([_per_slice(f.mask, count, k) for f, k in tried_features], dim=1
                      ).flatten(0, 1),
            torch.cat([_per_slice(f.values, count, k) for f, k in tried_features], dim=1
                      ).flatten(0, 1))
        values = {name: torch.cat([v[name].reshape(count, -1) for v in tried_values], dim=1
                                  ).flatten() for name in tried_values[0]}
        return self._result(batch, features, values, self.budget)


def _repeat(features: Features, times: int) -> Features:
    return Features(features.mask.repeat_interleave(times, 0),
                    features.values.repeat_interleave(times, 0))


def _per_slice(field: torch.Tensor, count: int, per_slice: int) -> torch.Tensor:
    return field.reshape(count, per_slice, *field.shape[1:])
