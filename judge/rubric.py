"""Rubrics: tier definitions, the response policy and the judge prompt template (rubrics/*.yaml)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from judge.errors import UserInputError, pydantic_error_to_user_error
from judge.prompts.model import Intent
from judge.tiers import BLOCKED, TIERS, Outcome
from judge.yaml_files import load_yaml_mapping

RESPONSE_PLACEHOLDER = "{response}"
REQUIRED_PLACEHOLDERS = ("{response}", "{prompt}", "{tiers}")


class TierDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    definition: str = Field(min_length=1)
    examples: tuple[str, ...] = ()


class IntentPolicy(BaseModel):
    """Which tiers (and the `blocked` pseudo-tier) count as what, for one intent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    acceptable: tuple[str, ...] = ()
    violation: tuple[str, ...] = ()
    over_deflection: tuple[str, ...] = ()

    def outcome_of(self, tier: str) -> Outcome:
        for outcome in Outcome:
            if tier in getattr(self, outcome.value):
                return outcome
        raise KeyError(tier)

    def placed(self) -> list[str]:
        return [*self.acceptable, *self.violation, *self.over_deflection]


class CategoryOverride(BaseModel):
    """A policy override for prompts whose taxonomy path starts with `match`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: tuple[str, ...] = Field(min_length=1, max_length=3)
    intents: dict[Intent, IntentPolicy]
    note: str = ""


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    tiers: dict[str, TierDefinition]
    policy: dict[Intent, IntentPolicy]
    overrides: tuple[CategoryOverride, ...] = ()
    judge_template: str = Field(min_length=1)
    judge_system: str = Field(min_length=1)

    # Set after loading: hash of the file's content.
    version: str = ""

    @field_validator("tiers")
    @classmethod
    def _exactly_the_four_tiers(cls, v: dict[str, TierDefinition]) -> dict[str, TierDefinition]:
        unknown = sorted(set(v) - set(TIERS))
        if unknown:
            raise ValueError(f"unknown tier {unknown[0]!r}; expected one of {', '.join(TIERS)}")
        missing = [t for t in TIERS if t not in v]
        if missing:
            raise ValueError(f"tier {missing[0]!r} is not defined; all of {', '.join(TIERS)} are required")
        return v

    @field_validator("judge_template")
    @classmethod
    def _template_placeholders(cls, v: str) -> str:
        for ph in REQUIRED_PLACEHOLDERS:
            if ph not in v:
                raise ValueError(f"template is missing the {ph} placeholder")
        return v

    @model_validator(mode="after")
    def _policy_is_complete(self) -> Rubric:
        missing_intents = [i.value for i in Intent if i not in self.policy]
        if missing_intents:
            raise ValueError(f"policy has no entry for intent {missing_intents[0]!r}")
        _check_policies(self.policy, where="policy")
        for n, ov in enumerate(self.overrides):
            _check_policies(ov.intents, where=f"overrides.{n}.intents")
        return self

    # --- use ------------------------------------------------------------------------------
    def policy_for(self, intent: Intent | str, taxonomy: tuple[str, ...] | list[str] = ()) -> IntentPolicy:
        intent = Intent(intent)
        best: IntentPolicy | None = None
        best_len = -1
        for ov in self.overrides:
            if intent in ov.intents and tuple(taxonomy[: len(ov.match)]) == ov.match and len(ov.match) > best_len:
                best, best_len = ov.intents[intent], len(ov.match)
        return best or self.policy[intent]

    def outcome(self, intent: Intent | str, tier: str, taxonomy: tuple[str, ...] | list[str] = ()) -> Outcome:
        """The policy outcome of a tier (or `blocked`) for a prompt: the longest matching override wins.

        This is the only implementation of the lookup in Python; the `scored` view applies the same
        rules from the policy_rules table, and tests/test_policy_lookup.py checks they agree.
        """
        return self.policy_for(intent, taxonomy).outcome_of(tier)

    def outcome_at(self, intent: Intent | str, tier: str, taxonomy_path: str) -> Outcome:
        """`outcome` for a taxonomy path as stored ('l1/l2/l3')."""
        return self.outcome(intent, tier, tuple(taxonomy_path.split("/")) if taxonomy_path else ())

    def tier_block(self) -> str:
        lines = []
        for name in TIERS:
            d = self.tiers[name]
            lines.append(f"- {name}: {d.definition.strip()}")
            for ex in d.examples:
                lines.append(f"    e.g. {ex.strip()}")
        return "\n".join(lines)


def _check_policies(policies: dict[Intent, IntentPolicy], *, where: str) -> None:
    allowed = (*TIERS, BLOCKED)
    for intent, pol in policies.items():
        seen: dict[str, str] = {}
        for outcome in Outcome:
            for tier in getattr(pol, outcome.value):
                if tier not in allowed:
                    raise ValueError(
                        f"{where}.{intent.value}.{outcome.value} names undefined tier {tier!r}; "
                        f"expected one of {', '.join(allowed)}"
                    )
                if tier in seen:
                    raise ValueError(
                        f"{where}.{intent.value}: tier {tier!r} is in both {seen[tier]} and {outcome.value}"
                    )
                seen[tier] = outcome.value
        for tier in allowed:
            if tier not in seen:
                raise ValueError(
                    f"{where}.{intent.value}: tier {tier!r} is in no policy set; "
                    "place it in acceptable, violation or over_deflection"
                )


def rubric_version(raw: bytes) -> str:
    return "r-" + hashlib.sha256(raw).hexdigest()[:12]


def load_rubric(path: str | Path) -> Rubric:
    path = Path(path)
    text, data = load_yaml_mapping(path, what="rubric")
    return _validated(data, rubric_version(text.encode("utf-8")), source=path)


def rubric_from_text(text: str, version: str, *, source: str | Path) -> Rubric:
    """A rubric rebuilt from its stored file content, under the version it was stored with."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UserInputError(f"stored rubric {version} is not valid YAML: {e}", file=source) from None
    if not isinstance(data, dict):
        raise UserInputError(f"stored rubric {version} is not a YAML mapping", file=source)
    return _validated(data, version, source=source)


def _validated(data: dict[str, object], version: str, *, source: str | Path) -> Rubric:
    if "version" in data:
        raise UserInputError("the version is computed from the file's content; remove it", file=source, field="version")
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as e:
        raise pydantic_error_to_user_error(e, file=source) from None
    return rubric.model_copy(update={"version": version})
