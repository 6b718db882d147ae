"""Calibrated confidence of the built-in judge: P(the verdict's side — comply or refuse — is right).

The raw blend of rules and model is not a probability. A small logistic calibrator maps what
decided the verdict — the rule that fired (its reason), how far the model's P(comply) is from 0.5 on
the chosen side, whether model and rule agree, the rule certainty — to the probability that the
binary side is correct. It is fitted by `scripts/train_builtin_judge.py` on **cross-source**
predictions only (each labelled set predicted by a model trained without it), never in-sample, and
shipped inside the model file (`meta.calibration`). Without a calibrator the raw confidence is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Calibrator:
    """z = bias + reason weight + margin·w_margin + agree·w_agree + certainty·w_certainty; conf = σ(z)."""

    bias: float
    reasons: dict[str, float]
    w_margin: float
    w_agree: float
    w_certainty: float

    def confidence(self, reason: str, margin: float, agree: bool, certainty: float) -> float:
        z = self.bias + self.reasons.get(reason, 0.0) + self.w_margin * margin
        z += self.w_agree * (1.0 if agree else 0.0) + self.w_certainty * certainty
        return 1.0 / (1.0 + math.exp(-z)) if z >= -30 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": self.bias,
            "reasons": dict(sorted(self.reasons.items())),
            "w_margin": self.w_margin,
            "w_agree": self.w_agree,
            "w_certainty": self.w_certainty,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Calibrator:
        return Calibrator(
            float(d["bias"]),
            {str(k): float(v) for k, v in d["reasons"].items()},
            float(d["w_margin"]),
            float(d["w_agree"]),
            float(d["w_certainty"]),
        )


def calibration_features(
    reason: str, p_comply_model: float, comply_side: bool, rule_comply: bool, certainty: float
) -> tuple[str, float, bool, float]:
    """(reason, model margin toward the chosen side in [-1, 1], model agrees with the rule side, certainty)."""
    p_side = p_comply_model if comply_side else 1.0 - p_comply_model
    agree = (p_comply_model >= 0.5) == rule_comply
    return reason, 2.0 * p_side - 1.0, agree, certainty
