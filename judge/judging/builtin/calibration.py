"""Calibrated confidence of the built-in judge: P(the verdict's side — comply or refuse — is right).

The raw blend of rules and model is not a probability. A small logistic calibrator maps what
decided the verdict to the probability that the binary side is correct. The form allows the rule
that fired (its reason), how far the model's P(comply) is from 0.5 on the chosen side (the margin),
model/rule agreement, the rule certainty and agreement with the refusal string matcher; the shipped
calibrator uses the margin alone (a monotone Platt scaling), because per-rule weights learned on some
sources ranked verdicts worse on the source left out. It is fitted by `scripts/train_builtin_judge.py`
on **cross-source** predictions only (each labelled set predicted by a model trained without it),
never in-sample, and shipped inside the model file (`meta.calibration`). Without a calibrator the raw
confidence is used."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Calibrator:
    """z = bias + w_reason·reasons[reason] + margin·w_margin + max(margin, 0)⁴·w_margin4 + agree·w_agree
    + certainty·w_certainty + string_agree·w_string; conf = σ(z).

    The quartic term lets the confidence rise steeply for the largest margins (where cross-source
    accuracy climbs fastest) while staying monotone in the margin (both margin weights are ≥ 0).

    `reasons` holds one weight per rule (its reason text). A rule never seen in training gets
    `default_reason`, the lowest weight of any rule (no cross-source evidence, low trust).
    `string_agree` is whether the refusal string matcher (`judge.judging.baseline`) lands on the same side.
    """

    bias: float
    reasons: dict[str, float]
    w_margin: float
    w_agree: float
    w_certainty: float
    w_reason: float = 1.0
    w_string: float = 0.0
    default_reason: float = 0.0
    w_margin4: float = 0.0

    def confidence(self, reason: str, margin: float, agree: bool, certainty: float, string_agree: bool = True) -> float:
        z = self.bias + self.w_reason * self.reasons.get(reason, self.default_reason) + self.w_margin * margin
        if margin > 0:
            z += self.w_margin4 * margin**4
        z += self.w_agree * (1.0 if agree else 0.0) + self.w_certainty * certainty
        z += self.w_string * (1.0 if string_agree else 0.0)
        return 1.0 / (1.0 + math.exp(-z)) if z >= -30 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": self.bias,
            "reasons": dict(sorted(self.reasons.items())),
            "w_margin": self.w_margin,
            "w_agree": self.w_agree,
            "w_certainty": self.w_certainty,
            "w_reason": self.w_reason,
            "w_string": self.w_string,
            "default_reason": self.default_reason,
            "w_margin4": self.w_margin4,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Calibrator:
        return Calibrator(
            float(d["bias"]),
            {str(k): float(v) for k, v in d["reasons"].items()},
            float(d["w_margin"]),
            float(d["w_agree"]),
            float(d["w_certainty"]),
            float(d.get("w_reason", 1.0)),
            float(d.get("w_string", 0.0)),
            float(d.get("default_reason", 0.0)),
            float(d.get("w_margin4", 0.0)),
        )


def calibration_features(
    reason: str, p_comply_model: float, comply_side: bool, rule_comply: bool, certainty: float
) -> tuple[str, float, bool, float]:
    """(reason, model margin toward the chosen side in [-1, 1], model agrees with the rule side, certainty)."""
    p_side = p_comply_model if comply_side else 1.0 - p_comply_model
    agree = (p_comply_model >= 0.5) == rule_comply
    return reason, 2.0 * p_side - 1.0, agree, certainty
