"""The fake server's configuration: per-model roles, responders, latencies and fault rates (docs/fake_server.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fake_server.texts import DEFAULT_ANSWER, FAULT_ORDER


def _from_mapping(cls: type, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check ``data`` has only fields of dataclass ``cls`` (typos in test configs fail loudly)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    return dict(data)


@dataclass
class Faults:
    rate_limit: float = 0.0
    retry_after_s: float = 0.05
    server_error: float = 0.0
    unavailable: float = 0.0
    overloaded: float = 0.0  # anthropic: 529 overloaded_error; openai: 503 "engine overloaded"
    hang: float = 0.0
    hang_s: float = 30.0
    drop: float = 0.0
    malformed: float = 0.0
    bad_schema: float = 0.0
    content_filter: float = 0.0
    refusal_stop: float = 0.0
    auth_error: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "faults") -> Faults:
        faults = cls(**{k: float(v) for k, v in _from_mapping(cls, data, where).items()})
        rates = [getattr(faults, name) for name in FAULT_ORDER]
        if any(r < 0 for r in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"{where}: fault rates must be >= 0 and sum to at most 1, got {sum(rates)}")
        return faults


@dataclass
class ModelConfig:
    role: str = "target"  # "target" | "judge"
    responder: str = "by_intent"  # target: refuse_all | comply_all | by_intent | table
    answers: dict[str, str] = field(default_factory=dict)  # table responder: substring -> answer
    default_answer: str = DEFAULT_ANSWER
    disagree_on: list[str] = field(default_factory=list)  # judge: substrings that rotate the tier
    faults: Faults = field(default_factory=Faults)
    latency_ms: float | None = None  # overrides the server-wide latency_ms when set
    require_key: str | None = None  # expected API key (Bearer for OpenAI, x-api-key for Anthropic)

    RESPONDERS: ClassVar[tuple[str, ...]] = ("refuse_all", "comply_all", "by_intent", "table")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "model") -> ModelConfig:
        d = _from_mapping(cls, data, where)
        d["faults"] = Faults.from_dict(d.get("faults") or {}, f"{where}.faults")
        cfg = cls(**d)
        if cfg.role not in ("target", "judge"):
            raise ValueError(f"{where}.role: expected 'target' or 'judge', got {cfg.role!r}")
        if cfg.responder not in cls.RESPONDERS:
            raise ValueError(f"{where}.responder: expected one of {cls.RESPONDERS}, got {cfg.responder!r}")
        return cfg


@dataclass
class ServerConfig:
    seed: int = 0
    latency_ms: float = 0.0
    models: dict[str, ModelConfig] = field(default_factory=dict)
    default: ModelConfig = field(default_factory=ModelConfig)
    # batch APIs: a batch reports "in_progress" for this many status polls, then runs and completes
    batch_in_progress_polls: int = 0
    # how a batch ends: completed | expired (lines after the first half unanswered) | failed | cancelled
    batch_outcome: str = "completed"

    BATCH_OUTCOMES: ClassVar[tuple[str, ...]] = ("completed", "expired", "failed", "cancelled")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ServerConfig:
        d = _from_mapping(cls, data or {}, "config")
        models = {
            str(name): ModelConfig.from_dict(m, f"models[{name!r}]") for name, m in (d.get("models") or {}).items()
        }
        outcome = str(d.get("batch_outcome", "completed"))
        if outcome not in cls.BATCH_OUTCOMES:
            raise ValueError(f"config.batch_outcome: expected one of {cls.BATCH_OUTCOMES}, got {outcome!r}")
        return cls(
            seed=int(d.get("seed", 0)),
            latency_ms=float(d.get("latency_ms", 0.0)),
            models=models,
            default=ModelConfig.from_dict(d.get("default") or {}, "default"),
            batch_in_progress_polls=int(d.get("batch_in_progress_polls", 0)),
            batch_outcome=outcome,
        )

    @classmethod
    def coerce(cls, config: ServerConfig | Mapping[str, Any] | None) -> ServerConfig:
        return config if isinstance(config, ServerConfig) else cls.from_dict(config)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # ClassVars are not fields

    def for_model(self, model: str) -> ModelConfig:
        return self.models.get(model, self.default)
