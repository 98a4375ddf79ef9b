"""Scoring the patch classifier (the FNAF paper's Tables 5-6 and §4.3).

:func:`classification_metrics` gives sensitivity, specificity, F1, Cohen's κ and AUROC (in %,
as the paper prints them) from scikit-learn, each with a 95 % percentile bootstrap interval
that resamples whole volumes (patches of one volume are not independent; seeded).
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


def classification_metrics(labels, probabilities, volumes, *, resamples: int = 1000,
                           seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """One row per metric (:data:`CLASSIFICATION_METRICS`): ``value``, ``low`` and ``high``,
    the interval from resampling ``volumes`` (each patch's volume) with replacement."""
    labels, probabilities, volumes = (np.asarray(a) for a in (labels, probabilities, volumes))
    if not len(labels) == len(probabilities) == len(volumes):
        raise ValueError("labels, probabilities and volumes must have one entry per patch")
    names, index = np.unique(volumes, return_inverse=True)
    members = [np.flatnonzero(index == i) for i in range(len(names))]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        chosen = np.concatenate([members[i] for i in rng.integers(0, len(names), len(names))])
        draws.append(point_metrics(labels[chosen], probabilities[chosen]))
    draws = pd.DataFrame(draws)
    tail = (1 - confidence) / 2
    return pd.DataFrame({"value": pd.Series(point_metrics(labels, probabilities)),
                         "low": draws.quantile(tail), "high": draws.quantile(1 - tail)}
                        ).loc[list(CLASSIFICATION_METRICS)]


def confidence_drop(labels, baseline, robust, threshold: float = 0.5) -> tuple[int, int]:
    """The paper's confidence analysis on the same patches: ``(dropped, false_negatives)`` —
    the baseline's false negatives (abnormal patches called normal) and how many of them get a
    lower abnormal-class probability from the robust model's reconstruction."""
    labels, baseline, robust = (np.asarray(a, dtype=float) for a in (labels, baseline, robust))
    missed = (labels == 1) & (baseline <= threshold)
    return int((robust[missed] < baseline[missed]).sum()), int(missed.sum())


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
