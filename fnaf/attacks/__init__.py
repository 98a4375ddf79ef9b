"""False-negative adversarial features (FNAF): features, regions T, attacks and their evaluation."""

from fnaf.attacks.features import (
    Features,
    connected_features,
    random_walk_features,
    region_mask,
    released_region_mask,
    scaled,
)
from fnaf.attacks.report import AttackReport, attack_dataset
from fnaf.attacks.search import AttackResult, FiniteDifference, RandomSearch, perturb

__all__ = [
    "AttackReport", "AttackResult", "Features", "FiniteDifference", "RandomSearch",
    "attack_dataset", "connected_features", "perturb", "random_walk_features", "region_mask",
    "released_region_mask", "scaled",
]
