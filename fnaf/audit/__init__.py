"""``fnaf audit``: a robustness report card for any reconstruction model (a fixed attack suite,
sanity flags and a claim file per model).

* :mod:`fnaf.audit.model` — any callable ``recon(masked_kspace, mask) -> image`` as a model the
  attacks can use, its outputs checked;
* :mod:`fnaf.audit.suite` — the fixed suite (k-space PGD over ε with APGD's schedule and
  restarts, the same-norm control, coil noise at the same SNR, the worst case per slice) and
  its summary with intervals over volumes;
* :mod:`fnaf.audit.features` — the FNAF paper's searches for false-negative features;
* :mod:`fnaf.audit.windows` — small window features: their error and its location dependence;
* :mod:`fnaf.audit.flags` — the sanity flags;
* :mod:`fnaf.audit.claim` — :func:`~fnaf.audit.claim.audit` and the claim file;
* :mod:`fnaf.audit.worst_slices` — the worst slices attacked again, to be seen;
* :mod:`fnaf.audit.report`, :mod:`fnaf.audit.leaderboard` — the report card and the
  leaderboard read from claim files.
"""

from fnaf.audit.claim import (
    CLAIM_SCHEMA,
    audit,
    audit_run,
    claim_features,
    claim_metrics,
    claim_rows,
    claim_windows,
    model_identity,
)
from fnaf.audit.model import ReconError, ReconModel
from fnaf.audit.suite import SUITE_VERSION, AuditSuite

__all__ = ["CLAIM_SCHEMA", "SUITE_VERSION", "AuditSuite", "ReconError", "ReconModel", "audit",
           "audit_run", "claim_features", "claim_metrics", "claim_rows", "claim_windows",
           "model_identity"]
