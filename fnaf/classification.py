"""Scoring the patch classifier (the FNAF paper's Tables 5-6 and §4.3).

:func:`classification_metrics` gives sensitivity, specificity, F1, Cohen's κ and AUROC (in %,
as the paper prints them) from scikit-learn, each with a 95 % percentile bootstrap interval
that resamples whole volumes (patches of one volume are not independent; seeded), computed for
all resamples at once from weighted confusion counts (:func:`weighted_metrics`).
:func:`confidence_drop` is the paper's confidence analysis: among the baseline's false
negatives, the share whose abnormal-class probability is lower on the robust reconstruction.
:func:`predict` scores every patch of a :class:`~fnaf.data.patches.PatchSet` (the released code
dropped the last partial batch; nothing is dropped here); :class:`PatchValidator` is the
training engine's validation of the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import cohen_kappa_score, confusion_matrix, f1_score, roc_auc_score
from torch import nn

from fnaf.data.patches import PatchBatch, PatchSet
from fnaf.stats import mcnemar_exact, wilson_interval

#: The classification tables' first input: the classifier on the fully-sampled images.
FULLY_SAMPLED = "Fully-sampled"
#: Tables 5-6's columns, in the paper's order.
CLASSIFICATION_METRICS = ("Sn", "Sp", "F1", "Kappa", "AUROC")


def point_metrics(labels, probabilities, threshold: float = 0.5) -> dict[str, float]:
    """Sn, Sp, F1, κ and AUROC (%) of abnormal-class ``probabilities`` against 0/1 ``labels``;
    a patch is called abnormal when its probability exceeds ``threshold`` (the argmax of two
    classes). AUROC is NaN when only one class is present."""
    labels = np.asarray(labels, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    decisions = (probabilities > threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(labels, decisions, labels=[0, 1]).ravel()
    both = len(np.unique(labels)) == 2
    return {"Sn": 100 * tp / (tp + fn) if tp + fn else float("nan"),
            "Sp": 100 * tn / (tn + fp) if tn + fp else float("nan"),
            "F1": 100 * f1_score(labels, decisions, zero_division=0.0),
            "Kappa": 100 * cohen_kappa_score(labels, decisions),
            "AUROC": 100 * roc_auc_score(labels, probabilities) if both else float("nan")}


def weighted_metrics(labels, probabilities, weights, threshold: float = 0.5) -> pd.DataFrame:
    """:func:`point_metrics` for many weightings of the same patches at once: ``weights``
    ``(R, N)`` counts each patch (a bootstrap resample's multiplicities); one row per weighting.

    The confusion counts are weighted sums, κ and F1 follow from them, and AUROC is the
    weighted Mann-Whitney statistic (ties count one half): with integer weights each row equals
    :func:`point_metrics` on the resample with the patches repeated (tested).
    """
    labels = np.asarray(labels, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    positive, called = labels == 1, probabilities > threshold
    tp, fn = weights @ (positive & called), weights @ (positive & ~called)
    fp, tn = weights @ (~positive & called), weights @ (~positive & ~called)
    n = tp + fn + fp + tn
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = (tp + tn) / n
        chance = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n ** 2
        kappa = np.where(chance < 1, (agree - chance) / (1 - chance), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        order = np.argsort(probabilities, kind="stable")
        sorted_scores = probabilities[order]
        starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
        ordered = weights[:, order]
        pos = np.add.reduceat(ordered * positive[order], starts, axis=1)
        neg = np.add.reduceat(ordered * ~positive[order], starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        auroc = (pos * (below + neg / 2)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))
        return pd.DataFrame({"Sn": 100 * tp / (tp + fn), "Sp": 100 * tn / (tn + fp),
                             "F1": 100 * f1, "Kappa": 100 * kappa, "AUROC": 100 * auroc})


def classification_metrics(labels, probabilities, volumes, *, resamples: int = 1000,
                           seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """One row per metric (:data:`CLASSIFICATION_METRICS`): ``value`` (scikit-learn's,
    :func:`point_metrics`), ``low`` and ``high``, the percentile interval from resampling
    ``volumes`` (each patch's volume) with replacement (:func:`weighted_metrics`)."""
    labels, probabilities, volumes = (np.asarray(a) for a in (labels, probabilities, volumes))
    if not len(labels) == len(probabilities) == len(volumes):
        raise ValueError("labels, probabilities and volumes must have one entry per patch")
    names, index = np.unique(volumes, return_inverse=True)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(names), (resamples, len(names)))
    counts = np.stack([np.bincount(row, minlength=len(names)) for row in drawn])
    draws = weighted_metrics(labels, probabilities, counts[:, index])
    tail = (1 - confidence) / 2
    return pd.DataFrame({"value": pd.Series(point_metrics(labels, probabilities)),
                         "low": draws.quantile(tail), "high": draws.quantile(1 - tail)}
                        ).loc[list(CLASSIFICATION_METRICS)]


def confidence_drop(labels, baseline, robust, threshold: float = 0.5) -> tuple[int, int]:
    """The paper's confidence analysis (§4.3) on the same patches: ``(less_confident,
    false_negatives)`` — the baseline's false negatives (abnormal patches called normal) and
    how many of them the classifier calls normal *less confidently* on the robust model's
    reconstruction, i.e. with a higher abnormal-class probability (the paper: 61 % for U-Net,
    54 % for I-RIM at 32 px, read as the robust reconstruction keeping more of the
    abnormality)."""
    labels, baseline, robust = (np.asarray(a, dtype=float) for a in (labels, baseline, robust))
    missed = (labels == 1) & (baseline <= threshold)
    return int((robust[missed] > baseline[missed]).sum()), int(missed.sum())


def decision_test(labels, baseline, robust, threshold: float = 0.5) -> dict:
    """McNemar's exact test (:func:`fnaf.stats.mcnemar_exact`) of the classifier's correctness
    on the same patches from two reconstructions: ``{"baseline only", "robust only", "p"}``,
    the patches only one of them gets right and the two-sided p-value. Patches are taken as
    independent, as in the paper (patches of one volume overlap; read p as optimistic)."""
    labels = np.asarray(labels) == 1
    right = [(np.asarray(side) > threshold) == labels for side in (baseline, robust)]
    only_robust, only_baseline, p = mcnemar_exact(right[1], right[0])
    return {"baseline only": only_baseline, "robust only": only_robust, "p": p}


def comparisons(labels, probabilities: dict[tuple[str, int], np.ndarray],
                baselines: dict[str, str]) -> pd.DataFrame:
    """Each robust reconstruction against its baseline on the same patches, per acceleration:
    McNemar's exact test of the classifier's correctness (:func:`decision_test`) and the
    confidence analysis (:func:`confidence_drop`, with a 95 % Wilson interval of the share).

    ``probabilities``: ``(input, accel)`` -> abnormal-class probabilities; ``baselines``: robust
    input -> its baseline (e.g. ``{"FNAF U-Net": "U-Net"}``). Rows ``(AF, robust)``.
    """
    rows = {}
    for (robust, accel), scores in probabilities.items():
        if robust not in baselines:
            continue
        baseline = probabilities[baselines[robust], accel]
        less, missed = confidence_drop(labels, baseline, scores)
        low, high = wilson_interval(less, missed)
        rows[f"{accel}×", robust] = {
            "baseline": baselines[robust], **decision_test(labels, baseline, scores),
            "false negatives": missed, "less confident": less,
            "share": less / missed if missed else float("nan"), "share low": low,
            "share high": high}
    return pd.DataFrame(rows).T.rename_axis(["AF", "robust"])


@dataclass
class PatchScores:
    """The classifier on every patch of a set: abnormal-class ``probabilities`` ``(N,)`` in the
    set's order, the ``labels`` and the mean cross-entropy ``loss``."""

    probabilities: np.ndarray
    labels: np.ndarray
    loss: float

    def means(self) -> dict[str, float]:
        """Accuracy and AUROC (%) at the argmax (a training history entry)."""
        scores = point_metrics(self.labels, self.probabilities)
        accuracy = 100 * np.mean((self.probabilities > 0.5) == (self.labels == 1))
        return {"accuracy": float(accuracy), "AUROC": scores["AUROC"]}

    def record(self) -> dict:
        return {"loss": self.loss, **self.means()}


@torch.no_grad()
def predict(model: nn.Module, pipeline, patches: PatchSet, *, batch_size: int = 256,
            device: torch.device | str = "cpu") -> PatchScores:
    """Run the classifier (eval mode) on every patch of ``patches``, in order."""
    was_training = model.training
    model.eval().to(device)
    probabilities, loss = [], 0.0
    try:
        for start in range(0, len(patches), batch_size):
            stop = min(start + batch_size, len(patches))
            batch = PatchBatch(patches.images[start:stop], patches.labels[start:stop],
                               [], []).to(device)
            logits = pipeline(model, batch).float()
            loss += float(F.cross_entropy(logits, batch.label, reduction="sum"))
            probabilities.append(torch.softmax(logits, dim=1)[:, 1].cpu().numpy())
    finally:
        model.train(was_training)
    if not len(patches):
        raise ValueError("the patch set is empty: no patches to score")
    return PatchScores(np.concatenate(probabilities), patches.labels.numpy(),
                       loss / len(patches))


@dataclass(frozen=True)
class PatchValidator:
    """The training engine's validation of the classifier: :func:`predict` on ``patches``,
    called as ``validator(model, device)``."""

    pipeline: object
    patches: PatchSet
    batch_size: int = 256

    def __call__(self, model: nn.Module, device: torch.device) -> PatchScores:
        return predict(model, self.pipeline, self.patches, batch_size=self.batch_size,
                       device=device)
