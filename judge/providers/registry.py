"""Resolve a model spec to the object that talks to it. The pipeline never special-cases providers.

openai/ and anthropic/ models go through the lean transport (judge.providers.lean) unless their
config says `transport: litellm` or uses params the lean path does not reproduce; every other
provider goes through litellm (imported only when its first request is made).
"""

from __future__ import annotations

from judge.config import ModelSpec
from judge.errors import UserInputError
from judge.providers.base import JudgeModel, TargetModel
from judge.providers.offline import BUILTIN_JUDGES, BuiltinJudge, ReplayTarget


def resolve_target(spec: ModelSpec) -> TargetModel:
    if spec.provider == "replay":
        return ReplayTarget(spec)
    if spec.provider == "builtin":
        raise UserInputError(f"{spec.model} is a judge, not a target", field="targets.model")
    from judge.providers.lean import LeanTarget, lean_supported

    if lean_supported(spec):
        return LeanTarget(spec)
    from judge.providers.litellm_backend import LitellmTarget

    return LitellmTarget(spec)


def resolve_judge(spec: ModelSpec) -> JudgeModel:
    if spec.provider == "cascade":
        from judge.providers.cascade import CascadeJudge

        return CascadeJudge(spec)
    if spec.provider == "builtin":
        if spec.model not in BUILTIN_JUDGES:
            raise UserInputError(
                f"unknown built-in judge {spec.model!r}; expected one of {', '.join(BUILTIN_JUDGES)}",
                field="judges.model",
            )
        if spec.abstain_below is not None:
            from judge.providers.cascade import Abstaining

            return Abstaining(BuiltinJudge(spec), spec.abstain_below)
        return BuiltinJudge(spec)
    if spec.provider == "replay":
        raise UserInputError(f"{spec.model} is a target, not a judge", field="judges.model")
    from judge.providers.lean import LeanJudge, lean_supported

    if lean_supported(spec):
        return LeanJudge(spec)
    from judge.providers.litellm_backend import LitellmJudge

    return LitellmJudge(spec)
