"""What the provider adapters hand back, in provider-neutral form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from judge.config import ModelSpec
from judge.providers.errors import ErrorInfo, FatalProviderError


@dataclass
class Answer:
    """One batch line's answer: the model's output, or why the request failed."""

    custom_id: str
    ok: bool
    http_status: int | None = None
    text: str | None = None
    tool_input: Any = None  # the forced tool call's arguments: a JSON string (OpenAI) or an object (Anthropic)
    stop: str | None = None  # the provider's finish / stop reason
    blocked: bool = False  # stopped by the provider's content filter or a refusal stop
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error_kind: str | None = None
    error_message: str | None = None
    body: dict[str, Any] | None = None  # the provider's whole answer (chat completion / message), for parsing

    @classmethod
    def failed(cls, custom_id: str, kind: str, message: str | None, http_status: int | None = None) -> Answer:
        return cls(custom_id, False, http_status, error_kind=kind, error_message=message)


@dataclass
class Submitted:
    batch_id: str
    status: str
    input_file_id: str | None = None


@dataclass
class PollState:
    status: str
    done: bool
    output_file_id: str | None = None
    error_file_id: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class BatchAPI(Protocol):
    provider: str
    spec: ModelSpec

    def target_body(self, messages: list[dict[str, str]]) -> dict[str, Any]: ...

    def judge_body(self, messages: list[dict[str, str]]) -> dict[str, Any]: ...

    async def submit(self, requests: list[tuple[str, dict[str, Any]]]) -> Submitted: ...

    async def poll(self, batch_id: str) -> PollState: ...

    async def collect(self, batch_id: str, state: PollState) -> dict[str, Answer]: ...

    async def aclose(self) -> None: ...


class SdkBatchClient:
    """What both providers' batch adapters share: one lazily built SDK client, and credentials
    errors turned into FatalProviderError (the run stops with one message naming the variable)."""

    provider = ""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._client: Any = None

    def _build_client(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _auth_errors(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError

    def client(self) -> Any:
        if self._client is None:
            from judge.secrets import api_key_from_env

            kwargs: dict[str, Any] = {"timeout": self.spec.timeout_s, "max_retries": min(self.spec.max_attempts - 1, 5)}
            if self.spec.api_bases[0]:  # batches go to the first replica
                kwargs["base_url"] = self.spec.api_bases[0]
            key = api_key_from_env(self.spec.api_key_env)
            if key:
                kwargs["api_key"] = key
            self._client = self._build_client(**kwargs)
        return self._client

    def _fatal(self, exc: BaseException) -> FatalProviderError:
        from judge.secrets import redact

        info = ErrorInfo("auth", redact(f"{type(exc).__name__}: {exc}") or "", getattr(exc, "status_code", None))
        return FatalProviderError(self.spec.name, self.spec.api_key_env, info)

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except self._auth_errors() as exc:
            raise self._fatal(exc) from None

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


class BatchUnavailable(FatalProviderError):
    """The batch API kept failing while a batch was in flight: stop; a rerun resumes polling it."""

    def __init__(self, model: str, batch_id: str, info: ErrorInfo) -> None:
        Exception.__init__(
            self,
            f"{model}: cannot reach the batch API for batch {batch_id} ({info.message}); "
            "the batch id is stored: rerun to resume polling it",
        )
        self.model = model
        self.env_name = None
        self.info = info


def model_name(spec: ModelSpec) -> str:
    """The model name the provider expects: the part after `openai/` / `anthropic/`."""
    return spec.model.split("/", 1)[1]


def kind_for_status(status: int | None, code: str | None = None, etype: str | None = None) -> str:
    """An error kind (as judge.providers.errors names them) for a failed batch line."""
    text = f"{code or ''} {etype or ''}".lower()
    if "content_policy" in text or "content_filter" in text:
        return "content_filter"
    if status in (401, 403) or "authentication" in text or "permission" in text:
        return "auth"
    if status == 429 or "rate_limit" in text:
        return "rate_limit"
    if (status is not None and status >= 500) or "overloaded" in text or "api_error" in text:
        return "server_error"
    if status == 404 or "not_found" in text:
        return "not_found"
    if status == 400 or "invalid_request" in text:
        return "bad_request"
    return "provider_error"
