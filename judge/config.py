"""Run configs (runs/*.yaml): strict models; relative paths resolve against the config's folder."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from judge.errors import UserInputError, first_error, pydantic_error_to_user_error
from judge.litellm_providers import LITELLM_PROVIDERS, LITELLM_VERSION
from judge.sources.spec import SourceSpec
from judge.yaml_files import load_yaml_mapping, yaml_line

DEFAULT_DB = "runs/judge.duckdb"
BUILTIN_PROVIDERS = ("replay", "builtin")
_SECRETISH = re.compile(r"^(sk-|sk_|xai-|AIza|gsk_|pk-|key-|Bearer\s)|^[A-Za-z0-9_\-]{32,}$")
_SECRET_PARAM_NAMES = {"api_key", "apikey", "key", "token", "authorization", "secret", "password"}


def check_model_string(model: str) -> str:
    """`provider/name` with a provider litellm routes (or a built-in one); a close typo gets a suggestion."""
    provider, sep, name = model.partition("/")
    if not sep or not provider or not name:
        raise ValueError(
            f"model {model!r} has no provider; expected 'provider/name' as in litellm "
            "(e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, replay/demo, builtin/judge)"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in model) or "" in name.split("/"):
        raise ValueError(f"model {model!r} is malformed: no spaces, control characters or empty '/' parts")
    known = LITELLM_PROVIDERS | set(BUILTIN_PROVIDERS)
    if provider not in known:
        close = difflib.get_close_matches(provider.lower(), sorted(known), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}/{name}? " if close else ""
        raise ValueError(
            f"unknown provider {provider!r} in model {model!r}; {hint}"
            f"expected a litellm provider (https://docs.litellm.ai/docs/providers; litellm {LITELLM_VERSION}) "
            f"or one of {', '.join(BUILTIN_PROVIDERS)}"
        )
    return model


# id(spec) -> (spec, its key): the key is asked for on every stored row; hashing identity() each time
# cost a quarter of the write path
_SPEC_KEYS: dict[int, tuple[ModelSpec, str]] = {}


class ModelSpec(BaseModel):
    """One target or judge. `model` follows litellm's `provider/name` convention."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=3)
    # one endpoint, or a list of replicas serving the same model (requests spread across them)
    api_base: str | tuple[str, ...] | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    system_prompt: str | None = None
    concurrency: int = Field(default=8, ge=1, le=512)
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_attempts: int = Field(default=4, ge=1, le=20)
    # judges only: how instructor asks for the verdict (tools = function calling; json / md_json for
    # servers without tool support, e.g. some local models)
    judge_mode: Literal["tools", "json", "md_json"] = "tools"
    # submit this model's work through the provider's batch API (OpenAI Batch, Anthropic Message Batches)
    batch: bool = False
    batch_poll_s: float = Field(default=30.0, gt=0, le=3600)
    # replay targets only: the recorded responses (JSONL keyed by prompt id)
    recordings: str | None = None
    # a short name for tables; defaults to the model string
    label: str | None = None
    # how openai/ and anthropic/ models are called: auto = judge's own lean HTTP client where it
    # reproduces litellm's request exactly, litellm = always through litellm (every other provider is)
    transport: Literal["auto", "litellm"] = "auto"

    @field_validator("api_base")
    @classmethod
    def _replicas(cls, v: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        if v is None or isinstance(v, str):
            return v
        if not v:
            raise ValueError("expected a URL or a non-empty list of URLs (replicas of the same model)")
        for url in v:
            if not re.match(r"^https?://[^\s/]+", url):
                raise ValueError(f"replica {url!r} is not an http(s) URL")
        if len(set(v)) != len(v):
            raise ValueError("the same replica URL is listed twice")
        return v[0] if len(v) == 1 else v

    @property
    def api_bases(self) -> list[str | None]:
        """The model's endpoints: its replicas, or [None] for the provider's default endpoint."""
        if self.api_base is None:
            return [None]
        return [self.api_base] if isinstance(self.api_base, str) else list(self.api_base)

    # judges that report a confidence (builtin/judge, cascade): below this the verdict is an explicit
    # `unsure` record (excluded from rates); in a cascade, a stage below it passes the item on
    abstain_below: float | None = Field(default=None, gt=0, lt=1)
    # model: cascade only — the judges tried in order (docs/judges.md, "Cascade"), and the share of
    # confidently decided items also sent to the next stage to measure agreement
    stages: tuple[ModelSpec, ...] = ()
    audit: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _cascade_shorthand(cls, data: Any) -> Any:
        """`cascade: [a, b]` means `model: cascade, stages: [a, b]`; a stage may be a model string."""
        if isinstance(data, dict):
            if "cascade" in data and "model" not in data:
                data = {
                    **{k: v for k, v in data.items() if k != "cascade"},
                    "model": "cascade",
                    "stages": data["cascade"],
                }
            stages = data.get("stages")
            if isinstance(stages, list | tuple):
                data = {**data, "stages": [{"model": st} if isinstance(st, str) else st for st in stages]}
        return data

    @field_validator("model")
    @classmethod
    def _known_provider(cls, v: str) -> str:
        return v if v == "cascade" else check_model_string(v)

    @field_validator("api_key_env")
    @classmethod
    def _env_name_not_key(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) or _SECRETISH.match(v):
            raise ValueError(
                "expected the NAME of an environment variable (e.g. OPENAI_API_KEY), not a key; configs never hold keys"
            )
        return v

    @field_validator("params")
    @classmethod
    def _no_secret_params(cls, v: dict[str, Any]) -> dict[str, Any]:
        for k in v:
            if k.lower() in _SECRET_PARAM_NAMES:
                raise ValueError(
                    f"params.{k} looks like a credential; keys come from the environment: "
                    "set api_key_env to the variable's name"
                )
        return v

    @model_validator(mode="after")
    def _batch_only_remote(self) -> ModelSpec:
        if self.batch and self.provider not in ("openai", "anthropic"):
            raise ValueError("batch: true is supported for openai/ and anthropic/ models only")
        return self

    @model_validator(mode="after")
    def _recordings_only_for_replay(self) -> ModelSpec:
        if self.recordings is not None and self.provider != "replay":
            raise ValueError("'recordings' is only valid for replay/ models")
        if self.provider == "replay" and self.recordings is None:
            raise ValueError("a replay/ model needs 'recordings': a JSONL of recorded responses")
        return self

    @model_validator(mode="after")
    def _cascade_fields(self) -> ModelSpec:
        if self.provider == "cascade":
            if len(self.stages) < 2:
                raise ValueError(
                    "a cascade needs at least two stages (e.g. stages: [builtin/judge, openai/gpt-4o-mini])"
                )
            if any(st.provider == "cascade" for st in self.stages):
                raise ValueError("a cascade stage cannot itself be a cascade")
        elif self.stages or self.audit:
            raise ValueError("'stages' and 'audit' are only valid for model: cascade")
        if self.abstain_below is not None and self.provider not in ("builtin", "cascade"):
            raise ValueError(
                "abstain_below needs a judge that reports a confidence (builtin/judge, or a cascade); "
                f"{self.model} reports none"
            )
        return self

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]

    @property
    def is_builtin(self) -> bool:
        return self.provider in BUILTIN_PROVIDERS

    @property
    def name(self) -> str:
        if self.label is None and self.stages:
            return "cascade(" + " > ".join(st.name for st in self.stages) + ")"
        return self.label or self.model

    def identity(self) -> dict[str, Any]:
        """What determines this model's behaviour (never the key itself)."""
        return {
            "model": self.model,
            "api_base": self.api_base,
            "params": self.params,
            "system_prompt": self.system_prompt,
            "recordings": self.recordings,
            "judge_mode": self.judge_mode,
            # only when set, so the keys of configs without them stay as they were
            **({"abstain_below": self.abstain_below} if self.abstain_below is not None else {}),
            **({"stages": [st.identity() for st in self.stages], "audit": self.audit} if self.stages else {}),
        }

    @property
    def key(self) -> str:
        """A stable hash of `identity()`, computed once per spec object (specs are frozen)."""
        cached = _SPEC_KEYS.get(id(self))
        if cached is not None and cached[0] is self:
            return cached[1]
        raw = json.dumps(self.identity(), sort_keys=True, default=str)
        key = hashlib.sha256(raw.encode()).hexdigest()[:16]
        if len(_SPEC_KEYS) >= 4096:
            _SPEC_KEYS.clear()
        _SPEC_KEYS[id(self)] = (self, key)  # holds the spec, so its id cannot be reused meanwhile
        return key


class Budget(BaseModel):
    """Limits for one invocation of a run; when reached the run stops cleanly and a rerun continues."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cost_usd: float | None = Field(default=None, gt=0)
    max_calls: int | None = Field(default=None, ge=1)

    @classmethod
    def with_overrides(
        cls, base: Budget | None, *, max_cost_usd: float | None = None, max_calls: int | None = None
    ) -> Budget | None:
        """`base` with the command line's limits (`--max-cost`, `--max-calls`) put over it."""
        if max_cost_usd is None and max_calls is None:
            return base
        fields = base.model_dump() if base else {}
        if max_cost_usd is not None:
            fields["max_cost_usd"] = max_cost_usd
        if max_calls is not None:
            fields["max_calls"] = max_calls
        try:
            return cls(**fields)
        except ValidationError as e:
            err = first_error(e)
            option = {"max_cost_usd": "--max-cost", "max_calls": "--max-calls"}.get(str(err["loc"][0]), "budget")
            raise UserInputError(f"{err['msg']} (got {err.get('input')!r})", field=option) from None


class SampleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(ge=1)
    seed: int = 0
    stratify: tuple[str, ...] = ("l1", "intent")


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    prompts: tuple[str, ...] = ()
    rubric: str
    db: str = DEFAULT_DB
    targets: tuple[ModelSpec, ...] = ()
    # answers another tool produced (judge.sources.spec), instead of prompts + targets
    source: SourceSpec | None = None
    judges: tuple[ModelSpec, ...] = Field(min_length=1)
    sample: SampleSpec | None = None
    taxonomy: str | None = None  # the taxonomy in use (default prompts/taxonomy.yaml); only warns
    reference_target: str | None = None
    budget: Budget | None = None
    # reuse: verdicts with the same judge, parameters, rubric, prompt and response text are reused
    # across runs (never paid twice); responses are fresh per run unless reuse_responses is set.
    reuse_verdicts: bool = True
    reuse_responses: bool = False
    # nightly regression gates (validated by judge.nightly)
    gates: dict[str, Any] | None = None

    @field_validator("prompts", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _prompts_and_targets_or_source(self) -> RunConfig:
        if self.source is not None:
            if self.prompts or self.targets:
                raise ValueError("a config with 'source' has no 'prompts' or 'targets' (the source holds both)")
            return self
        if not self.prompts:
            raise ValueError("'prompts' is required (or 'source' for answers another tool produced)")
        if not self.targets:
            raise ValueError("'targets' is required (or 'source' for answers another tool produced)")
        return self

    @model_validator(mode="after")
    def _unique_names(self) -> RunConfig:
        for role, specs in (("targets", self.targets), ("judges", self.judges)):
            names = [s.name for s in specs]
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise ValueError(f"{role}: duplicate model {sorted(dup)[0]!r}; set a distinct 'label'")
        if (
            self.reference_target
            and self.source is None
            and self.reference_target not in [t.name for t in self.targets]
        ):
            raise ValueError(f"reference_target {self.reference_target!r} is not one of the targets")
        return self


class LoadedConfig(BaseModel):
    """A validated config with paths resolved against the config file's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    config: RunConfig
    prompt_paths: tuple[Path, ...]
    rubric_path: Path
    db_path: Path
    config_hash: str
    taxonomy_path: Path | None = None


def _resolve(base: Path, p: str) -> Path:
    path = Path(p).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _yaml_line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\s*-?\s*{re.escape(key)}\s*:", line):
            return n
    return None


def _validate(path: Path, text: str, data: dict[str, Any]) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        err = pydantic_error_to_user_error(e, file=path)
        detail = first_error(e)
        loc = tuple(p for p in detail["loc"] if isinstance(p, str | int))
        message = err.message.removeprefix("Value error, ")
        if detail.get("type") == "extra_forbidden":
            message = _unknown_field_message(loc)
        raise UserInputError(message, file=path, line=yaml_line(text, loc), field=err.field) from None


def _unknown_field_message(loc: tuple[str | int, ...]) -> str:
    """'unknown field', with what to write instead: api_key_env for a key, the closest field for a typo."""
    key = str(loc[-1]) if loc else ""
    if key.lower() in _SECRET_PARAM_NAMES:
        return (
            "unknown field: a config never holds keys; set api_key_env to the NAME of the environment variable "
            "holding the key (e.g. api_key_env: OPENAI_API_KEY)"
        )
    model: type[BaseModel] = RunConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        inner = _model_of(info.annotation) if info is not None else None
        if inner is None:
            break
        model = inner
    close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
    return "unknown field (not allowed here)" + (f"; did you mean {close[0]!r}?" if close else "")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation like `ModelSpec`, `tuple[ModelSpec, ...]`, `Budget | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


class _Paths:
    """Resolves a config's relative paths against its folder; missing files name the field."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.base = path.resolve().parent

    def existing(self, value: str, *, what: str, field: str, key: str) -> Path:
        resolved = _resolve(self.base, value)
        if not resolved.is_file():
            raise UserInputError(
                f"{what} file {value!r} not found (resolved to {resolved})",
                file=self.path,
                line=_yaml_line_of(self.text, key),
                field=field,
            )
        return resolved

    def with_recordings(self, role: str, specs: tuple[ModelSpec, ...]) -> tuple[ModelSpec, ...]:
        """The specs with each replay target's recordings path resolved (and checked)."""
        out = []
        for n, spec in enumerate(specs):
            if spec.recordings is not None:
                field = f"{role}.{n}.recordings"
                rec = self.existing(spec.recordings, what="recordings", field=field, key="recordings")
                spec = spec.model_copy(update={"recordings": str(rec)})
            out.append(spec)
        return tuple(out)


def load_config(path: str | Path, *, db_override: str | Path | None = None) -> LoadedConfig:
    """Read, validate and resolve a run config; every problem is one UserInputError."""
    path = Path(path)
    text, data = load_yaml_mapping(path, what="config")
    cfg = _validate(path, text, data)
    paths = _Paths(path, text)
    prompt_paths = tuple(
        paths.existing(p, what="prompt", field=f"prompts.{n}", key="prompts") for n, p in enumerate(cfg.prompts)
    )
    rubric_path = paths.existing(cfg.rubric, what="rubric", field="rubric", key="rubric")
    taxonomy_path = (
        paths.existing(cfg.taxonomy, what="taxonomy", field="taxonomy", key="taxonomy") if cfg.taxonomy else None
    )
    cfg = cfg.model_copy(
        update={
            "targets": paths.with_recordings("targets", cfg.targets),
            "judges": paths.with_recordings("judges", cfg.judges),
            "source": cfg.source.resolved(paths.base) if cfg.source is not None else None,
        }
    )
    if db_override is not None:
        db_path = Path(db_override)
    else:
        db_path = _resolve(paths.base, cfg.db) if "db" in data else _default_db(paths.base)
    config_hash = hashlib.sha256(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
    return LoadedConfig(
        path=path,
        config=cfg,
        prompt_paths=prompt_paths,
        rubric_path=rubric_path,
        db_path=db_path,
        config_hash=config_hash,
        taxonomy_path=taxonomy_path,
    )


def _default_db(config_dir: Path) -> Path:
    """$JUDGE_DB, else `runs/judge.duckdb` of the project the config lives in (usually runs/)."""
    if os.environ.get("JUDGE_DB"):
        return Path(os.environ["JUDGE_DB"])
    if config_dir.name == "runs":
        return config_dir / "judge.duckdb"
    return Path(DEFAULT_DB)
