"""How a result of ours is read against the papers': one vocabulary, a few named rules.

:data:`VERDICTS`, from strongest to weakest agreement:

* ``"reproduced"`` — the paper's finding holds here: the same direction shown by our test (or
  our intervals), or no effect shown where the paper found none; for a level, the paper's value
  inside our 95 % interval.
* ``"direction only"`` — the paper's direction, but not shown by our test, or not at its size.
* ``"not reproduced"`` — the opposite direction, no effect shown where the paper found one, or an
  effect shown where the paper found none.
* ``"not comparable"`` — nothing here measures the paper's quantity (an absolute level on other
  data than the paper's, or a statement the paper does not make).

A claim the paper stated without a test (e.g. Table 4's unbolded "All" row, a mean the paper never
tested) is read by its direction and size (:func:`direction_verdict`), never as "the paper found
no effect".

"No effect shown" is the reading of a test that does not reject (or an interval that covers the
null): it agrees with a paper that found no effect, it does not prove there is none.

:data:`MIN_VOLUMES`, :func:`shift_verdict` (in words: :func:`shift_words`), :func:`line_reading`
and :func:`difference_verdict` are chapter 09's readings, shared with the results summary (a
reading resting on fewer volumes is not read).
"""

from __future__ import annotations

import math

import pandas as pd

from fnaf.formatting import interval_string
from fnaf.stats import mean_difference

VERDICTS = ("reproduced", "direction only", "not reproduced", "not comparable")


def comparison_verdict(paper_direction: str, paper_shown: bool, our_direction: str,
                 our_shown: bool) -> str:
    """A comparison read by its test: directions are any labels (``"lower"``/``"higher"``,
    ``"positive"``/``"negative"``); ``*_shown``: the test rejects "no effect".

    The paper found an effect: ours in its direction and shown → reproduced; in its direction,
    not shown → direction only; else not reproduced. The paper found none: ours not shown →
    reproduced, shown → not reproduced."""
    if not paper_shown:
        return "not reproduced" if our_shown else "reproduced"
    if our_direction != paper_direction:
        return "not reproduced"
    return "reproduced" if our_shown else "direction only"


def level_verdict(paper: float, low: float, high: float, direction_shown: bool | None) -> str:
    """A level the paper reports, read as the module docstring says: reproduced when ``paper``
    lies in our 95 % interval ``[low, high]`` — checked first, whether or not our interval also
    shows the finding's direction (an interval that holds the paper's value agrees with it).
    Outside the interval: direction only where the finding's direction (e.g. an attack rate
    above the control's, a negative r) is shown, not reproduced where it is not or where the
    level has none (``direction_shown`` None). ``paper`` missing: not comparable."""
    if paper is None or math.isnan(paper):
        return "not comparable"
    if low <= paper <= high:
        return "reproduced"
    return "direction only" if direction_shown else "not reproduced"


def direction_verdict(paper_direction: str, our_direction: str, our_shown: bool) -> str:
    """A comparison the paper stated but did not test (its numbers give a direction, no test
    says whether it is an effect): ours in its direction and shown by our test → reproduced; in
    its direction, not shown → direction only; the other direction → not reproduced. Unlike
    :func:`comparison_verdict`, an untested paper value is never read as "no effect found"."""
    if our_direction != paper_direction:
        return "not reproduced"
    return "reproduced" if our_shown else "direction only"


def claim_verdict(fewer_hits: bool, p: float, delta_ssim: float, alpha: float = 0.05,
                  max_ssim_change: float = 0.01) -> str:
    """The FNAF paper's robust-training claim for one model and acceleration: ``"reproduced"``
    when the robust model has fewer hits than the clean fine-tune by the paired test (``p`` ≤
    ``alpha``) and its SSIM changes by less than ``max_ssim_change``; ``"direction only"`` when
    its hits are fewer but one of the two conditions fails; else ``"not reproduced"``."""
    if not fewer_hits:
        return "not reproduced"
    if p <= alpha and abs(delta_ssim) < max_ssim_change:
        return "reproduced"
    return "direction only"


def threshold_verdict(value: float, threshold: float) -> str:
    """A level the paper states as a bound ("more than 99 %"): reproduced when ``value`` is
    above ``threshold``, else not reproduced."""
    return "reproduced" if value > threshold else "not reproduced"


def count_verdict(paper: int, ours: int) -> str:
    """A count the paper reports (volumes, slices, parameters): reproduced when ours is the
    same, else not reproduced."""
    return "reproduced" if paper == ours else "not reproduced"


#: The equivalence margin of the second paper's "similar" claims (methods, bases): two SSIM drops
#: under the same attack are similar when their difference's 95 % interval over volumes lies
#: within ±0.05 SSIM. The paper gives no margin; this one is stated here, before any reading.
SIMILAR_SSIM_MARGIN = 0.05


def equivalence_verdict(low: float, high: float, margin: float) -> str:
    """A "similar" claim read with an equivalence ``margin`` stated up front, never as "not
    significantly different": reproduced when the 95 % interval ``[low, high]`` of the
    difference lies inside ``±margin`` (equivalence shown); not reproduced when it lies wholly
    outside (a difference beyond the margin shown); otherwise direction only (neither shown)."""
    if -margin <= low and high <= margin:
        return "reproduced"
    if low > margin or high < -margin:
        return "not reproduced"
    return "direction only"


def unmeasured_verdict() -> str:
    """A claim nothing in the package measures (a radiologist's reading, an impression of a
    figure, a statement about a release): not comparable; the claims register says why."""
    return "not comparable"


#: The fewest volumes a mean's interval may rest on for a claim to be read from it (the
#: intervals resample volumes; with fewer they say little).
MIN_VOLUMES = 5


def too_few(count: float) -> str:
    """Why a reading resting on ``count`` volumes is not read (fewer than :data:`MIN_VOLUMES`)."""
    return f"{int(count)} volumes, fewer than the {MIN_VOLUMES} a reading needs"


def shift_verdict(points: pd.DataFrame, fit: dict, excluded: dict[str, str] | None = None,
                  min_volumes: int = MIN_VOLUMES, expected: str = "lower") -> dict:
    """The paper's two claims read on one shift (:func:`shift_line` points, :func:`line_fit`):
    (i) every method loses (``expected`` ``"lower"``; ``"higher"``: every method gains, e.g.
    Fig. 13's brains) — ``"reproduced"`` where every read method's effect interval lies
    below 0 (above, for ``"higher"``), ``"direction only"`` where every mean effect is negative
    (positive) but not every interval excludes 0, ``"not comparable"`` where no method can be
    read, else ``"not reproduced"``;
    (ii) the methods lie on a line — :func:`line_reading`. ``excluded``: methods left out of
    (i) with the reason (e.g. the filtered subset's reference, selected on its own errors; a
    method that is the same on both sides); a method whose either mean rests on fewer than
    ``min_volumes`` volumes is left out too.

    Returns ``lower``, ``higher`` (method lists), ``read`` (how many), ``losses`` and ``line``
    (the verdicts) and ``excluded``."""
    excluded = dict(excluded or {})
    counts = points.filter(like=" volumes").min(axis=1) if len(points.filter(
        like=" volumes").columns) else pd.Series(min_volumes, index=points.index)
    for model, count in zip(points.model, counts):
        if count < min_volumes and model not in excluded:
            excluded[model] = f"{int(count)} volumes, too few to read"
    read = points[~points.model.isin(excluded)]
    if expected not in ("lower", "higher"):
        raise ValueError(f"expected must be 'lower' or 'higher', not {expected!r}")
    lower = read[read.direction == "lower"].model.tolist()
    sign = -1 if expected == "lower" else 1
    losses = ("not comparable" if not len(read) else
              "reproduced" if (read.direction == expected).all() else
              "direction only" if (sign * read.effect > 0).all() else "not reproduced")
    line = line_reading(fit, points)["verdict"]
    return {"lower": lower, "higher": read[read.direction == "higher"].model.tolist(),
            "read": len(read), "losses": losses, "line": line, "excluded": excluded}


def shift_words(verdict: dict, expected: str = "lower", effects: str = "") -> str:
    """A :func:`shift_verdict` in words, the chapter's and the summary's: how many of the read
    methods are shown ``expected`` (each method's ``effects`` in brackets where given), those
    shown the other way, and each method left out with the reason."""
    other = "higher" if expected == "lower" else "lower"
    words = (f"{len(verdict[expected])} of {verdict['read']} methods shown {expected}"
             + (f" ({effects})" if effects else ""))
    if verdict[other]:
        words += f"; shown {other}: {', '.join(verdict[other])}"
    left_out = "; ".join(f"{model} left out ({why})" for model, why in verdict["excluded"].items())
    return words + (f"; {left_out}" if left_out else "")


def _interval(values, name: str, places: int) -> str:
    """``values[name]`` with its ``low``/``high`` interval (missing: NaN) as words."""
    return interval_string(*(values.get(key, math.nan) for key in
                             (name, f"{name} low", f"{name} high")), places)


def line_reading(fit, points: pd.DataFrame | None = None) -> dict:
    """Accuracy on the line (appendix §B.1: the methods "linearly lose performance"; main paper
    Fig. 4: a method's score after the shift follows from its score before it), read on ``fit``
    (:func:`~fnaf.studies.distribution_shift.line_fit`, or a row of the chapter's ``fits``
    table): ``"reproduced"`` where the slope's 95 % interval (bootstrap over volumes) lies above
    0 and so does Pearson's r's (over the methods); ``"direction only"`` where the slope is
    positive but an interval reaches 0; ``"not reproduced"`` where it is not positive; ``"not
    comparable"`` without the two intervals (fewer than four methods, one volume).

    ``points`` with ``residual``, ``residual low``, ``residual high`` (and ``family``) name the
    methods above the line (residual interval above 0: more robust than the line predicts) and
    below it, and give the un-trained and l1 methods' residuals in the words.
    Returns ``verdict``, ``above``, ``below`` (method lists) and ``text``."""
    get = fit.get
    slope, slope_low, r_low = (float(get(key, math.nan)) for key in ("slope", "slope low",
                                                                      "r low"))
    if math.isnan(slope_low) or math.isnan(r_low):
        verdict = "not comparable"
    elif slope <= 0:
        verdict = "not reproduced"
    else:
        verdict = "reproduced" if slope_low > 0 and r_low > 0 else "direction only"
    text = (f"slope {_interval(fit, 'slope', 2)}, intercept {_interval(fit, 'intercept', 2)} "
            f"(volumes resampled), r {_interval(fit, 'r', 2)} over {int(get('n', 0))} methods")
    above, below = [], []
    if points is not None and "residual" in points:
        above = points.loc[points["residual low"] > 0, "model"].tolist()
        below = points.loc[points["residual high"] < 0, "model"].tolist()
        text += (f"; above the line: {', '.join(above) or 'none'}; "
                 f"below it: {', '.join(below) or 'none'}")
        untrained = points[points["family"].isin(["un-trained", "l1"])]
        if len(untrained):
            text += "; residuals of the un-trained and l1 methods: " + ", ".join(
                f"{row['model']} {_interval(row, 'residual', 3)}"
                for _, row in untrained.iterrows())
    return {"verdict": verdict, "above": above, "below": below, "text": text}


def difference_verdict(effect: float, low: float, high: float, expected: str, volumes: int,
                       min_volumes: int = MIN_VOLUMES) -> str:
    """An untested difference the paper stated (``expected`` ``"lower"``/``"higher"``, e.g.
    Fig. 14's low-frequency share of the hard slices), its 95 % interval resampling volumes:
    :func:`direction_verdict` (shown where the interval excludes 0 on the expected side);
    ``"not comparable"`` where the smaller group spans fewer than ``min_volumes`` volumes."""
    if volumes < min_volumes:
        return "not comparable"
    shown = high < 0 if expected == "lower" else low > 0
    return direction_verdict(expected, "lower" if effect < 0 else "higher", bool(shown))


#: Fig. 14's two claims on chapter 09's ``low_frequency`` table (register id -> the quantity,
#: the slices it is compared with, the paper's direction): the low-frequency proportion (LFP)
#: of the filtered subset against the rest, and its energy outside the centre columns (1 - LFP)
#: against the average slice's.
FIG14 = {"rcs-fig14-low-frequency": ("low-frequency proportion", "the rest", "lower"),
         "rcs-fig14-energy": ("energy outside the centre columns", "the average slice", "higher")}


def low_frequency_readings(proportions: pd.DataFrame, seed: int = 0) -> dict[str, dict]:
    """Fig. 14 read on ``proportions`` (one row per slice: ``fname``, ``low-frequency
    proportion``, ``hard``), the chapter's and the summary's: per :data:`FIG14` entry the
    subset's difference (``effect``, ``low``, ``high``; :func:`~fnaf.stats.mean_difference`,
    resampling volumes), its ``slices`` and ``volumes``, ``expected`` and the ``verdict``
    (:func:`difference_verdict`)."""
    share = proportions.assign(LFP=proportions["low-frequency proportion"],
                               HF=1 - proportions["low-frequency proportion"])
    hard = share[share["hard"].astype(bool)]
    volumes = hard["fname"].nunique()
    readings = {}
    for claim_id, (quantity, against, expected) in FIG14.items():
        metric, rest = (("LFP", share[~share["hard"].astype(bool)]) if expected == "lower"
                        else ("HF", share))
        effect, low, high = mean_difference(rest, hard, metric, seed=seed)
        readings[claim_id] = dict(quantity=quantity, against=against, expected=expected,
                                  effect=effect, low=low, high=high, slices=len(hard),
                                  volumes=volumes, verdict=difference_verdict(
                                      effect, low, high, expected, volumes))
    return readings
