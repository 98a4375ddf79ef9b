"""Scoring the patch classifier: what the training engine and the chapter both need.

:func:`point_metrics` gives sensitivity, specificity, F1, Cohen's κ and AUROC (in %, as the
FNAF paper's Tables 5-6 print them) from scikit-learn; :func:`weighted_metrics` the same for many
weightings of the patches at once (weighted confusion counts: the bootstrap of
:func:`fnaf.studies.classification.classification_metrics`).
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
from fnaf.devices import resolve_device

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
            device: torch.device | str | None = None) -> PatchScores:
    """Run the classifier (eval mode) on every patch of ``patches``, in order, on ``device``
    (``None``: the session's)."""
    device = resolve_device(device)
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
