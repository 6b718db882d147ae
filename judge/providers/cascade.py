"""Cascade judges and abstention: a cheap judge decides where it is confident, the next stage gets the rest.

A cascade (`model: cascade`, `stages: [builtin/judge, openai/gpt-4o-mini]`, docs/judges.md "Cascade")
asks its stages in order. A stage *decides* when its verdict is `ok`; a non-final stage that reports a
confidence abstains (`unsure`) below its threshold — its own `abstain_below`, else the cascade's, else
`DEFAULT_STAGE_THRESHOLD` — and the item goes on; a stage error also passes the item on. The final
stage's verdict (ok, unsure or error) is the cascade's. `audit: 0.05` also sends a deterministic
pseudo-random 5 % of the confidently decided items (by a hash of prompt and response) to the next stage:
the decided verdict stands, the next stage's tier is recorded beside it, so every run measures how
often the cheap stage agrees with the expensive one (`judge.analysis.cascade`).

`Abstaining` wraps any judge that reports a confidence: below `abstain_below` its verdict becomes an
explicit `unsure` record (tier None, error_kind "unsure", the reason in error_message).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from judge.config import ModelSpec
from judge.errors import UserInputError
from judge.providers.base import JudgeModel, JudgeRequest, JudgeResult, Usage

DEFAULT_STAGE_THRESHOLD = 0.9  # a non-final stage without abstain_below decides at confidence >= 0.9
_AUDIT_SCALE = float(1 << 64)


def unsure_result(res: JudgeResult, threshold: float) -> JudgeResult:
    """The abstention record of an ok verdict whose confidence is below `threshold`."""
    conf = res.confidence if res.confidence is not None else 0.0
    reason = f"confidence {conf:.2f} < {threshold:.2f}; leaning {res.tier}"
    return JudgeResult(
        "unsure",
        tier=None,
        confidence=res.confidence,
        rationale=res.rationale,
        raw_output=res.raw_output,
        error_kind="unsure",
        error_message=reason,
        calls=res.calls,
        decided_by=res.decided_by,
        cascade=res.cascade,
    )


class Abstaining:
    """A judge whose low-confidence verdicts become explicit `unsure` records."""

    def __init__(self, inner: JudgeModel, threshold: float) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.offline = inner.offline
        self.threshold = threshold

    @property
    def impl_version(self) -> str:
        return str(getattr(self.inner, "impl_version", ""))

    async def grade(self, request: JudgeRequest) -> JudgeResult:
        res = await self.inner.grade(request)
        if res.status == "ok" and res.confidence is not None and res.confidence < self.threshold:
            return unsure_result(res, self.threshold)
        return res


def audit_draw(request: JudgeRequest) -> float:
    """A deterministic number in [0, 1) for the item: the same prompt and response always draw the same."""
    digest = hashlib.sha256(
        request.prompt.content_hash.encode() + b"\0" + request.response_text.encode("utf-8", "surrogatepass")
    ).digest()
    return int.from_bytes(digest[:8], "big") / _AUDIT_SCALE


def _stage_record(spec: ModelSpec, res: JudgeResult) -> dict[str, Any]:
    usage = Usage.total(res.calls)
    return {
        "stage": spec.name,
        "status": res.status,
        "tier": res.tier,
        "leaning": res.error_message if res.status == "unsure" else None,
        "confidence": res.confidence,
        "error_kind": res.error_kind if res.status == "error" else None,
        "calls": len(res.calls),
        "cost_usd": usage.cost_usd,
    }


class CascadeJudge:
    """Stages tried in order; the first confident verdict decides (see the module docstring)."""

    def __init__(self, spec: ModelSpec) -> None:
        from judge.providers.registry import resolve_judge

        self.spec = spec
        self.stages: list[JudgeModel] = []
        last = len(spec.stages) - 1
        for n, stage in enumerate(spec.stages):
            if stage.api_key_env and not os.environ.get(stage.api_key_env):
                raise UserInputError(
                    f"environment variable {stage.api_key_env} is not set (needed by cascade stage {stage.model})",
                    field=f"stages.{n}.api_key_env",
                )
            if n < last and stage.abstain_below is None and stage.provider == "builtin":
                stage = stage.model_copy(update={"abstain_below": spec.abstain_below or DEFAULT_STAGE_THRESHOLD})
            self.stages.append(resolve_judge(stage))
        self.offline = all(st.offline for st in self.stages)

    @property
    def impl_version(self) -> str:
        return "cascade:" + "|".join(str(getattr(st, "impl_version", "")) for st in self.stages)

    def preflight(self) -> None:
        for st in self.stages:
            check = getattr(st, "preflight", None)
            if check is not None:
                check()

    async def grade(self, request: JudgeRequest) -> JudgeResult:
        records: list[dict[str, Any]] = []
        calls = []
        audit = self.spec.audit > 0 and audit_draw(request) < self.spec.audit
        last = len(self.stages) - 1
        for n, stage in enumerate(self.stages):
            res = await stage.grade(request)
            calls.extend(res.calls)
            records.append(_stage_record(stage.spec, res))
            if res.status != "ok" and n < last:
                continue  # unsure or failed: the next stage gets the item
            info: dict[str, Any] = {"stages": records, "audit": False, "last_stage": self.stages[-1].spec.name}
            if res.status == "ok" and n < last and audit:
                info["audit"] = True
                check = await self.stages[n + 1].grade(request)
                calls.extend(check.calls)
                records.append({**_stage_record(self.stages[n + 1].spec, check), "audit": True})
                info["audit_stage"] = self.stages[n + 1].spec.name
                info["audit_tier"] = check.tier if check.status == "ok" else None
            return self._final(res, stage.spec, info, calls)
        raise AssertionError("unreachable: the final stage always returns")

    def _final(self, res: JudgeResult, decided: ModelSpec, info: dict[str, Any], calls: list[Any]) -> JudgeResult:
        rationale = f"[{decided.name}] {res.rationale}" if res.rationale else res.rationale
        return JudgeResult(
            res.status,
            tier=res.tier if res.status == "ok" else None,
            confidence=res.confidence,
            rationale=rationale,
            raw_output=res.raw_output,
            error_kind=res.error_kind,
            error_message=res.error_message,
            calls=calls,
            decided_by=decided.name if res.status == "ok" else None,
            cascade=info,
        )
