"""Reading the small-feature tables of :mod:`fnaf.small_features` (Darestani et al., §6, appendix
C): every mean with a bootstrap interval over images, and a claim only where an interval or a test
says so.

* :func:`location_dependence` — per model: the mean window error, the map's **spread** (the
  coefficient of variation of the per-location means: 0 for a flat map) and Friedman's test of a
  location effect, images as blocks (the paper's claim (i): each method depends on location).
* :func:`spread_comparison` — a model's spread against a reference's on the same images and
  locations, the difference with a paired bootstrap interval over images ("flatter" only where it
  excludes zero).
* :func:`information_summary` — appendix Fig. 17: the mean window error per model and window size.
* :func:`box_reading` — Fig. 8: per model, the mean error inside the annotated boxes and the mean
  SSIM, and their correlation over slices.
* :func:`rankings` — do artificial and real features rank the models the same way (Kendall's τ)?
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from fnaf.stats import cluster_bootstrap_mean, correlation

RESAMPLES = 2000
CONFIDENCE = 0.95


def _location_matrix(maps: pd.DataFrame) -> pd.DataFrame:
    """One model's map rows as an (image, location) matrix of window errors."""
    return maps.pivot_table(index=["fname", "slice"], columns=["row", "col"], values="error")


def map_means(maps: pd.DataFrame) -> pd.DataFrame:
    """The heat maps: the mean window error over images per ``model``, ``row`` and ``col``."""
    return maps.groupby(["model", "row", "col"], sort=False, as_index=False).error.mean()


def spread(matrix: np.ndarray) -> float:
    """Coefficient of variation over locations of the per-location mean error of an
    ``(images, locations)`` matrix: 0 for a flat map."""
    means = matrix.mean(axis=0)
    return float(means.std() / means.mean())


def _image_draws(images: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, images, size=(RESAMPLES, images))


def _interval(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def location_dependence(maps: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per ``model`` of the map rows (``model``, ``fname``, ``slice``, ``row``, ``col``,
    ``error``): ``images``, ``locations``, the mean ``error`` with its interval (bootstrap over
    images), the ``spread`` with its interval, Friedman's ``chi2`` and ``p`` over locations
    (images as blocks; NaN below two images) and ``shown`` (p ≤ 0.05)."""
    rows = []
    for model, group in maps.groupby("model", sort=False):
        matrix = _location_matrix(group).to_numpy()
        images, locations = matrix.shape
        mean, low, high = cluster_bootstrap_mean(group.error, group.fname + "/" +
                                                 group.slice.astype(str), seed=seed)
        draws = _image_draws(images, seed)
        spreads = np.array([spread(matrix[draw]) for draw in draws]) if images > 1 else [np.nan]
        chi2, p = (stats.friedmanchisquare(*matrix.T) if images > 1 and locations > 2
                   else (np.nan, np.nan))
        rows.append({"model": model, "images": images, "locations": locations, "error": mean,
                     "error low": low, "error high": high, "spread": spread(matrix),
                     **dict(zip(["spread low", "spread high"], _interval(spreads))),
                     "chi2": float(chi2), "p": float(p), "shown": bool(p <= 0.05)})
    return pd.DataFrame(rows)


def spread_comparison(maps: pd.DataFrame, references: dict[str, str],
                      seed: int = 0) -> pd.DataFrame:
    """Each ``model -> reference`` pair's spread difference (model − reference) on the images and
    locations both were mapped on, with a paired bootstrap interval over images; ``direction``
    "flatter", "less flat" or "not shown" (the interval covers zero)."""
    rows = []
    for model, reference in references.items():
        first = _location_matrix(maps[maps.model == model])
        second = _location_matrix(maps[maps.model == reference])
        if not first.index.equals(second.index) or not first.columns.equals(second.columns):
            raise ValueError(f"{model} and {reference} were not mapped on the same images and "
                             "locations")
        a, b = first.to_numpy(), second.to_numpy()
        differences = np.array([spread(a[draw]) - spread(b[draw])
                                for draw in _image_draws(len(a), seed)])
        low, high = _interval(differences) if len(a) > 1 else (np.nan, np.nan)
        direction = ("flatter" if high < 0 else "less flat" if low > 0 else "not shown")
        rows.append({"model": model, "reference": reference, "spread": spread(a),
                     "reference spread": spread(b), "difference": spread(a) - spread(b),
                     "difference low": low, "difference high": high, "direction": direction})
    return pd.DataFrame(rows)


def information_summary(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Appendix Fig. 17: per ``model`` and window ``size`` (and pooled over sizes, ``size``
    "all"), the mean window error over the random placements with its interval (bootstrap over
    images: placements on one image are not independent) and the placement count ``n``."""
    rows = []
    pooled = frame.assign(size="all")
    for (model, size), group in pd.concat([frame, pooled]).groupby(["model", "size"],
                                                                   sort=False):
        mean, low, high = cluster_bootstrap_mean(group.error, group.fname + "/" +
                                                 group.slice.astype(str), seed=seed)
        rows.append({"model": model, "size": size, "error": mean, "error low": low,
                     "error high": high, "n": len(group)})
    return pd.DataFrame(rows)


def box_reading(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Fig. 8 per ``model`` of the box rows (``model``, ``fname``, ``box error``, ``SSIM``): the
    mean box error and mean SSIM with intervals (bootstrap over volumes), and their correlation
    over slices (:func:`fnaf.stats.correlation`: Pearson and Spearman with intervals)."""
    rows = []
    for model, group in frame.groupby("model", sort=False):
        error = cluster_bootstrap_mean(group["box error"], group.fname, seed=seed)
        quality = cluster_bootstrap_mean(group.SSIM, group.fname, seed=seed)
        rows.append({"model": model, "slices": len(group),
                     **dict(zip(["box error", "box error low", "box error high"], error)),
                     **dict(zip(["SSIM", "SSIM low", "SSIM high"], quality)),
                     **correlation(group.SSIM, group["box error"])})
    return pd.DataFrame(rows)


def rankings(information: pd.DataFrame, boxes: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Rank the models common to both by their pooled information loss (artificial features,
    :func:`information_summary`'s ``size == "all"``) and by their mean box error (real features,
    :func:`box_reading`), 1 = the smallest error. Returns the table and Kendall's ``tau`` and
    ``p`` between the two orders (``n`` models; NaN below three)."""
    artificial = information[information["size"] == "all"].set_index("model").error
    real = boxes.set_index("model")["box error"]
    models = [model for model in artificial.index if model in real.index]
    table = pd.DataFrame({"information loss": artificial[models], "box error": real[models]})
    table["artificial rank"] = table["information loss"].rank(method="min").astype(int)
    table["real rank"] = table["box error"].rank(method="min").astype(int)
    tau, p = (stats.kendalltau(table["artificial rank"], table["real rank"])
              if len(models) > 2 else (np.nan, np.nan))
    return table, {"n": len(models), "tau": float(tau), "p": float(p)}
