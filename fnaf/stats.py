"""Intervals and tests for the tables: every rate and mean the book reports carries a 95 %
interval, and paired units get paired tests (scipy.stats does the statistics).

* :func:`wilson_interval` — a rate's interval (attack rates, control rates).
* :func:`cluster_bootstrap_mean` — a mean over units (slices, boxes) with an interval from
  resampling *volumes*, since slices of one volume are not independent.
* :func:`paired_test` — two models scored on the same units: the two-sided Wilcoxon
  signed-rank test (exact for small ``N``), with the direction of the difference; the paper's
  unpaired rank-sum test beside it.
* :func:`volume_paired_test` — the same comparison with the *volume* as the unit: each
  volume's mean difference, then the signed-rank test across volumes (slices, boxes and patches
  of one volume are correlated; taking them as independent rejects far too often).
* :func:`mcnemar_exact` — two models' hits on the same slices (attack rates).
* :func:`volume_hits_test` — the same hits with the volume as the unit: the paired difference
  in rate with an interval resampling volumes, and the signed-rank test over volumes.
* :func:`correlation` — Pearson's r and Spearman's ρ with p-values and 95 % intervals.
* :func:`cluster_bootstrap_correlation` — r or ρ with an interval resampling volumes.
* :func:`mean_difference` — the difference of two means with an interval resampling volumes
  (chapter 09's shifts; paired where the two share volumes).
* :func:`spread` and :func:`spread_comparison` — a location map's spread (coefficient of
  variation over locations) and two maps' difference in it, paired bootstrap over images
  (chapter 10).

The last two are shared by their chapter and the results summary (:mod:`fnaf.studies.summary`),
which reads the chapters' saved tables the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: The smallest number of paired units at which a two-sided exact signed-rank test can reach
#: p <= 0.05 (the smallest p with N units is 2 / 2**N: 0.0625 at N = 5, 0.031 at N = 6).
MIN_PAIRED_UNITS = 6


def wilson_interval(successes: int, trials: int, confidence: float = 0.95
                    ) -> tuple[float, float]:
    """Wilson score interval of the rate ``successes / trials`` (NaNs when ``trials`` is 0)."""
    if trials == 0:
        return float("nan"), float("nan")
    interval = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence, "wilson")
    return float(interval.low), float(interval.high)


def cluster_bootstrap_mean(values, clusters, confidence: float = 0.95, resamples: int = 2000,
                           seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values`` and its percentile bootstrap interval,
    resampling whole ``clusters`` (e.g. the volume of each slice) with replacement.

    Each resample's mean is the total of the drawn clusters' values over their count, so
    clusters weigh by their size as in the mean itself. Seeded: the same call gives the same
    interval. One cluster gives no interval (NaNs).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    _, cluster_index = np.unique(np.asarray(clusters), return_inverse=True)
    sums = np.bincount(cluster_index, weights=values)
    counts = np.bincount(cluster_index).astype(np.float64)
    mean = float(values.mean())
    if len(sums) < 2:
        return mean, float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(sums), size=(resamples, len(sums)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return mean, float(low), float(high)


@dataclass(frozen=True)
class PairedComparison:
    """A model against its reference on the same units (``difference = model - reference``).

    ``p_signed_rank``: two-sided Wilcoxon signed-rank (exact for small ``n`` without ties,
    scipy's ``method="auto"``); ``p_rank_sum``: the paper's two-sided Wilcoxon rank-sum, which
    ignores the pairing; ``direction``: ``"lower"``/``"higher"`` by the median difference
    (``"equal"`` when it is 0). Tests are not run (NaN) below :data:`MIN_PAIRED_UNITS`.
    """

    n: int
    median_difference: float
    p_signed_rank: float
    p_rank_sum: float

    @property
    def tested(self) -> bool:
        return self.n >= MIN_PAIRED_UNITS

    @property
    def direction(self) -> str:
        if not self.n or self.median_difference == 0:
            return "equal"
        return "lower" if self.median_difference < 0 else "higher"

    def significant(self, alpha: float = 0.05) -> bool:
        return self.tested and self.p_signed_rank <= alpha


def paired_test(model, reference) -> PairedComparison:
    """Compare paired scores (the same units, in the same order) of two models."""
    model, reference = (np.asarray(side, dtype=np.float64) for side in (model, reference))
    if model.shape != reference.shape:
        raise ValueError(f"paired scores must have the same shape, not {model.shape} and "
                         f"{reference.shape}")
    n = len(model)
    difference = model - reference
    median = float(np.median(difference)) if n else float("nan")
    if n < MIN_PAIRED_UNITS:
        return PairedComparison(n, median, float("nan"), float("nan"))
    signed_rank = 1.0 if not difference.any() else float(stats.wilcoxon(model, reference).pvalue)
    rank_sum = float(stats.ranksums(model, reference).pvalue)
    return PairedComparison(n, median, signed_rank, rank_sum)


def volume_paired_test(model, reference, volumes) -> PairedComparison:
    """:func:`paired_test` with the volume as the unit: the differences ``model - reference``
    of each unit (slice, box, patch) are averaged per volume (``volumes``: each unit's volume),
    and the per-volume means are tested with the two-sided signed-rank test (exact for small
    numbers of volumes). ``n`` counts volumes; not tested below :data:`MIN_PAIRED_UNITS`
    volumes; ``p_rank_sum`` compares the two models' per-volume means unpaired.

    Units of one volume share the patient, the scan and the reconstruction's errors, so under
    "no difference" a volume's units move together; a unit-level test counts each of them as
    independent evidence and rejects far more often than its nominal level
    (``tests/test_stats.py`` simulates it)."""
    model, reference = (np.asarray(side, dtype=np.float64) for side in (model, reference))
    volumes = np.asarray(volumes)
    if not model.shape == reference.shape == volumes.shape:
        raise ValueError(f"paired scores and volumes must have the same shape, not "
                         f"{model.shape}, {reference.shape} and {volumes.shape}")
    _, index = np.unique(volumes, return_inverse=True)
    counts = np.bincount(index).astype(np.float64)
    means = [np.bincount(index, weights=side) / counts for side in (model, reference)]
    return paired_test(*means)


def mcnemar_exact(model, reference) -> tuple[int, int, float]:
    """Exact McNemar test of two models' hits (booleans) on the same units.

    Returns ``(only_model, only_reference, p)``: the discordant counts and the two-sided
    binomial p-value of ``only_model`` among the discordant units (1 when there are none).
    """
    model, reference = (np.asarray(side, dtype=bool) for side in (model, reference))
    if model.shape != reference.shape:
        raise ValueError(f"paired hits must have the same shape, not {model.shape} and "
                         f"{reference.shape}")
    only_model, only_reference = int((model & ~reference).sum()), int((reference & ~model).sum())
    discordant = only_model + only_reference
    p = stats.binomtest(only_model, discordant).pvalue if discordant else 1.0
    return only_model, only_reference, float(p)


def volume_hits_test(model, reference, volumes, seed: int = 0) -> dict[str, float]:
    """Two models' hits (booleans) on the same units (slices, patches), with the volume as the
    unit; the volume-level counterpart of :func:`mcnemar_exact`.

    Keys: ``volumes`` (their count); ``rate difference`` (model's rate − reference's over all
    units) with ``rate difference low``/``high``, its 95 % percentile bootstrap interval
    resampling volumes (:func:`cluster_bootstrap_mean` of the per-unit differences, seeded);
    ``p volumes``, the two-sided signed-rank test of the per-volume rate differences
    (:func:`volume_paired_test`; NaN below :data:`MIN_PAIRED_UNITS` volumes)."""
    model, reference = (np.asarray(side, dtype=bool).astype(np.float64)
                        for side in (model, reference))
    test = volume_paired_test(model, reference, volumes)
    difference, low, high = cluster_bootstrap_mean(model - reference, volumes, seed=seed)
    return {"volumes": test.n, "rate difference": difference, "rate difference low": low,
            "rate difference high": high, "p volumes": test.p_signed_rank}


def resampled_correlations(x, y, weights, method: str = "spearman") -> np.ndarray:
    """Pearson's r (``method="pearson"``) or Spearman's ρ of ``x`` and ``y`` ``(n,)`` in each
    resample given by ``weights`` ``(R, n)``, the times each unit is drawn: ``(R,)``, the
    coefficient of the resample with unit ``i`` repeated ``weights[:, i]`` times (ρ from the
    resample's mid-ranks; NaN for a constant resample)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if method == "spearman":
        x, y = (_weighted_ranks(values, weights) for values in (x, y))
    elif method != "pearson":
        raise ValueError(f"method must be 'pearson' or 'spearman', not {method!r}")
    total = weights.sum(axis=1, keepdims=True)
    x, y = (np.broadcast_to(values, weights.shape) for values in (x, y))
    dx, dy = (values - (weights * values).sum(axis=1, keepdims=True) / total
              for values in (x, y))
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((weights * dx * dy).sum(axis=1)
                / np.sqrt((weights * dx ** 2).sum(axis=1) * (weights * dy ** 2).sum(axis=1)))


def _weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each unit's mid-rank ``(R, n)`` among ``values`` ``(n,)`` repeated ``weights`` ``(R, n)``
    times (ties, including a unit's own repeats, share their mean rank)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    tied = np.add.reduceat(weights[:, order], starts, axis=1)
    ranks = np.cumsum(tied, axis=1) - tied + (tied + 1) / 2
    group = np.empty(len(values), dtype=np.intp)
    group[order] = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(values)]))
    return ranks[:, group]


def cluster_bootstrap_correlation(x, y, clusters, method: str = "spearman",
                                  confidence: float = 0.95, resamples: int = 2000,
                                  seed: int = 0) -> tuple[float, float, float]:
    """``(r, low, high)``: Pearson's r or Spearman's ρ (``method``) of ``x`` and ``y`` and its
    percentile bootstrap interval resampling whole ``clusters`` (each unit's volume) with
    replacement, so units of one volume move together (:func:`resampled_correlations`).
    Seeded; NaNs below two clusters or four units."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    _, index = np.unique(np.asarray(clusters), return_inverse=True)
    count = index.max() + 1 if len(index) else 0
    if len(x) < 4 or count < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan"), float("nan")
    estimate = float(resampled_correlations(x, y, np.ones((1, len(x))), method)[0])
    drawn = np.random.default_rng(seed).integers(0, count, size=(resamples, count))
    times = np.stack([np.bincount(row, minlength=count) for row in drawn])
    values = resampled_correlations(x, y, times[:, index], method)
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return estimate, float(low), float(high)


def correlation(x, y, confidence: float = 0.95) -> dict[str, float]:
    """Pearson's r and Spearman's ρ of ``x`` and ``y`` with two-sided p-values and intervals
    (Fisher's z; for ρ with Bonett and Wright's variance ``(1 + ρ²/2) / (n - 3)``). Keys
    ``n``, ``pearson_r``, ``pearson_p``, ``pearson_low``, ``pearson_high`` and the same for
    ``spearman_``; NaN below four pairs or for a constant input. Units are taken as
    independent."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    names = [f"{kind}_{part}" for kind in ("pearson", "spearman")
             for part in ("r", "p", "low", "high")]
    result = {"n": n, **dict.fromkeys(names, float("nan"))}
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return result
    pearson = stats.pearsonr(x, y)
    interval = pearson.confidence_interval(confidence)
    spearman = stats.spearmanr(x, y)
    rho = float(spearman.statistic)
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt((1 + rho ** 2 / 2) / (n - 3))
    centre = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    result.update(pearson_r=float(pearson.statistic), pearson_p=float(pearson.pvalue),
                  pearson_low=float(interval.low), pearson_high=float(interval.high),
                  spearman_r=rho, spearman_p=float(spearman.pvalue),
                  spearman_low=float(np.tanh(centre - half)),
                  spearman_high=float(np.tanh(centre + half)))
    return result


def mean_difference(first: pd.DataFrame, second: pd.DataFrame, metric: str = "SSIM",
                    resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``(difference, low, high)``: ``mean(second) - mean(first)`` of ``metric`` and its 95 %
    percentile bootstrap interval over volumes (``fname``, within its ``source`` where the rows
    name one): resampled together where the two row sets share volumes, independently where
    they do not."""
    rng = np.random.default_rng(seed)
    difference = float(second[metric].mean() - first[metric].mean())
    first, second = (frame.assign(fname=frame.source.astype(str) + "/" + frame.fname.astype(str))
                     if "source" in frame else frame for frame in (first, second))

    def sums(frame, names):
        grouped = frame.groupby("fname")[metric].agg(["sum", "count"]).reindex(names).fillna(0)
        return grouped["sum"].to_numpy(), grouped["count"].to_numpy()

    shared = bool(set(first.fname) & set(second.fname))
    groups = ([sorted(set(first.fname) | set(second.fname))] * 2 if shared else
              [sorted(set(first.fname)), sorted(set(second.fname))])
    if min(len(names) for names in groups) < 2:
        return difference, float("nan"), float("nan")
    (first_sum, first_count), (second_sum, second_count) = (
        sums(frame, names) for frame, names in zip((first, second), groups))
    first_draw = rng.integers(0, len(groups[0]), size=(resamples, len(groups[0])))
    second_draw = first_draw if shared else rng.integers(0, len(groups[1]),
                                                         size=(resamples, len(groups[1])))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (second_sum[second_draw].sum(1) / second_count[second_draw].sum(1)
                 - first_sum[first_draw].sum(1) / first_count[first_draw].sum(1))
    means = means[np.isfinite(means)]  # a draw without any of the subset's volumes
    low, high = np.percentile(means, [2.5, 97.5])
    return difference, float(low), float(high)


#: Bootstrap resamples and the intervals' coverage of the location maps' spreads.
RESAMPLES = 2000
CONFIDENCE = 0.95


def location_matrix(maps: pd.DataFrame) -> pd.DataFrame:
    """One model's map rows as an (image, location) matrix of window errors."""
    return maps.pivot_table(index=["fname", "slice"], columns=["row", "col"], values="error")


def spread(matrix: np.ndarray) -> float:
    """Coefficient of variation over locations of the per-location mean error of an
    ``(images, locations)`` matrix: 0 for a flat map."""
    means = matrix.mean(axis=0)
    return float(means.std() / means.mean())


def image_draws(images: int, seed: int) -> np.ndarray:
    """:data:`RESAMPLES` bootstrap draws ``(RESAMPLES, images)`` of image indices, seeded."""
    return np.random.default_rng(seed).integers(0, images, size=(RESAMPLES, images))


def percentile_interval(values: np.ndarray) -> tuple[float, float]:
    """The :data:`CONFIDENCE` percentile interval of bootstrap ``values`` (NaNs ignored)."""
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def spread_comparison(maps: pd.DataFrame, references: dict[str, str],
                      seed: int = 0) -> pd.DataFrame:
    """Each ``model -> reference`` pair's spread difference (model − reference) on the images and
    locations both were mapped on, with a paired bootstrap interval over images; ``direction``
    "flatter", "less flat" or "not shown" (the interval covers zero)."""
    rows = []
    for model, reference in references.items():
        first = location_matrix(maps[maps.model == model])
        second = location_matrix(maps[maps.model == reference])
        if not first.index.equals(second.index) or not first.columns.equals(second.columns):
            raise ValueError(f"{model} and {reference} were not mapped on the same images and "
                             "locations")
        a, b = first.to_numpy(), second.to_numpy()
        differences = np.array([spread(a[draw]) - spread(b[draw])
                                for draw in image_draws(len(a), seed)])
        low, high = percentile_interval(differences) if len(a) > 1 else (np.nan, np.nan)
        direction = ("flatter" if high < 0 else "less flat" if low > 0 else "not shown")
        rows.append({"model": model, "reference": reference, "spread": spread(a),
                     "reference spread": spread(b), "difference": spread(a) - spread(b),
                     "difference low": low, "difference high": high, "direction": direction})
    return pd.DataFrame(rows)


#: Permutations of the location-structure test (:func:`location_structure`).
PERMUTATIONS = 2000


def neighbours(locations: pd.MultiIndex) -> np.ndarray:
    """Rook adjacency ``(L, L)`` of grid ``locations`` ``(row, col)``: 1 where two windows are
    next to each other on the grid (one step along a row or a column), else 0."""
    rows, cols = (np.unique(locations.get_level_values(level), return_inverse=True)[1]
                  for level in (0, 1))
    steps = np.abs(rows[:, None] - rows[None]) + np.abs(cols[:, None] - cols[None])
    return (steps == 1).astype(float)


def morans_i(maps: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Moran's I of each map ``(..., L)`` on ``weights`` ``(L, L)``:
    ``I = L / ΣW · zᵀWz / zᵀz``, ``z`` the map minus its mean; near ``-1/(L-1)`` for a map
    without spatial structure, up to 1 for a smooth one; NaN for a flat map."""
    z = maps - maps.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (maps.shape[-1] / weights.sum() * np.einsum("...i,ij,...j->...", z, weights, z)
                / (z * z).sum(axis=-1))


def location_structure(matrix: pd.DataFrame, permutations: int = PERMUTATIONS,
                       seed: int = 0) -> dict[str, float]:
    """Is a map structured (neighbouring windows alike) or random? ``matrix``: one model's
    :func:`~fnaf.stats.location_matrix` (images × locations, one image per volume). The
    statistic is the mean over images of each image's :func:`morans_i` on the grid's
    :func:`neighbours`; the null shuffles every image's errors among its own locations
    (``permutations`` times, seeded), which keeps each image, its content and its errors and
    destroys only their arrangement. Returns ``moran`` with its interval (bootstrap over
    volumes) and the one-sided ``p`` ``(1 + #{null ≥ observed}) / (1 + permutations)``."""
    values = matrix.to_numpy()
    weights = neighbours(matrix.columns)
    per_image = morans_i(values, weights)
    read = ~np.isnan(per_image)
    mean, low, high = cluster_bootstrap_mean(per_image[read],
                                             matrix.index.get_level_values("fname")[read],
                                             seed=seed)
    if not read.any() or weights.sum() == 0:
        return {"moran": np.nan, "moran low": np.nan, "moran high": np.nan, "p": np.nan}
    rng = np.random.default_rng(seed)
    exceed = 0
    for start in range(0, permutations, 250):
        count = min(250, permutations - start)
        shuffled = rng.permuted(np.broadcast_to(values[read], (count, *values[read].shape)),
                                axis=-1)
        exceed += int((np.nanmean(morans_i(shuffled, weights), axis=1) >= mean - 1e-12).sum())
    return {"moran": mean, "moran low": low, "moran high": high,
            "p": (1 + exceed) / (1 + permutations)}
