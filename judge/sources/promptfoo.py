"""promptfoo eval results (`-o results.json`, results version 3, or `-o results.jsonl`) as imported records.

One record per (test case, prompt, provider) row: the rendered prompt (a chat when the prompt renders to a
JSON message list), the output, the provider id, token usage, cost and latency; the row's assertion outcome
(`gradingResult.pass`, else `success`) is an external score named after the assertion types.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from judge.errors import UserInputError
from judge.sources.items import ExternalScore, RawItem, SourceFile, Tick, as_float, as_int, chat_messages

SUPPORTED_VERSIONS = (3,)
ERROR_REASON = 2  # promptfoo ResultFailureReason.ERROR: the provider call failed


def read_promptfoo(path: Path, tick: Tick | None = None) -> SourceFile:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserInputError("file not found", file=path) from None
    except OSError as e:
        raise UserInputError(f"cannot read: {e.strerror}", file=path) from None
    if path.suffix == ".jsonl":
        rows = list(_jsonl_rows(path, raw))
        version_info: dict[str, Any] = {}  # a JSONL export has no top-level wrapper
        eval_id, name = None, path.stem
    else:
        data = _json(path, raw)
        rows, eval_id, name, version_info = _results_rows(path, data)
    if not rows:
        raise UserInputError("the results file has no result rows", file=path)
    prompts = {_prompt_key(r) for _, r in rows}
    items = []
    for where, row in rows:
        items.append(_item(path, where, row, multi_prompt=len(prompts) > 1))
        if tick:
            tick(1)
    return SourceFile(
        "promptfoo", path, hashlib.sha256(raw).hexdigest(), eval_id or str(path.resolve()), name, items, version_info
    )


def _json(path: Path, raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserInputError(f"not valid JSON ({e})", file=path) from None


def _results_rows(path: Path, data: Any) -> tuple[list[tuple[str, dict[str, Any]]], str | None, str, dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise UserInputError("not a promptfoo results file: expected an object with 'results'", file=path)
    results = data["results"]
    version = results.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise UserInputError(
            f"promptfoo results version {version!r} is not supported (supported: {SUPPORTED_VERSIONS[0]}); "
            "export again with a promptfoo release that writes version 3",
            file=path,
            field="results.version",
        )
    rows = results.get("results")
    if not isinstance(rows, list):
        raise UserInputError("results.results must be a list", file=path, field="results.results")
    for n, r in enumerate(rows):
        if not isinstance(r, dict):
            raise UserInputError("expected an object", file=path, field=f"results.results.{n}")
    meta = data.get("metadata") or {}
    description = ((data.get("config") or {}).get("description") or "").strip()
    info = {
        "promptfoo": meta.get("promptfooVersion"),
        "results_version": version,
        "description": description or None,
        "timestamp": results.get("timestamp"),
    }
    name = description[:60] or path.stem  # stable across evals of one config (evalId changes every time)
    return [(f"results.results[{n}]", r) for n, r in enumerate(rows)], data.get("evalId"), name, info


def _jsonl_rows(path: Path, raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserInputError(f"invalid UTF-8 at byte {e.start}", file=path) from None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserInputError(f"not valid JSON ({e.msg})", file=path, line=n) from None
        if not isinstance(row, dict) or "provider" not in row or ("response" not in row and "error" not in row):
            raise UserInputError("not a promptfoo result row (needs provider and response)", file=path, line=n)
        out.append((f"line {n}", row))
    return out


def _prompt_key(row: dict[str, Any]) -> str:
    prompt = row.get("prompt") or {}
    return str(row.get("promptIdx", prompt.get("label", "")))


def _test_id(row: dict[str, Any], multi_prompt: bool) -> str:
    test = row.get("testCase") or {}
    meta = test.get("metadata") or {}
    base = meta.get("id") or test.get("description") or f"test-{row.get('testIdx', '?')}"
    if multi_prompt:
        prompt = row.get("prompt") or {}
        base = f"{base}@{prompt.get('label') or row.get('promptIdx')}"
    return str(base)


def _rendered(path: Path, where: str, row: dict[str, Any]) -> tuple[str | None, list[dict[str, str]] | None]:
    prompt = row.get("prompt") or {}
    raw = prompt.get("raw")
    if not isinstance(raw, str) or not raw.strip():
        raise UserInputError(f"{where}: no rendered prompt (prompt.raw)", file=path)
    stripped = raw.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and parsed and all(isinstance(m, dict) and "role" in m for m in parsed):
            return None, chat_messages(parsed, file=path, where=where)
    return raw, None


def _assertion_judge(row: dict[str, Any]) -> str:
    grading = row.get("gradingResult") or {}
    types = sorted(
        {
            str((c.get("assertion") or {}).get("type"))
            for c in grading.get("componentResults") or []
            if isinstance(c, dict) and (c.get("assertion") or {}).get("type")
        }
    )
    if not types:
        types = sorted({str(a.get("type")) for a in (row.get("testCase") or {}).get("assert") or [] if a.get("type")})
    return "promptfoo:" + ("+".join(types) if types else "assertions")


def _item(path: Path, where: str, row: dict[str, Any], *, multi_prompt: bool) -> RawItem:
    prompt, messages = _rendered(path, where, row)
    provider = row.get("provider") or {}
    if isinstance(provider, str):
        provider = {"id": provider}
    provider_id = str(provider.get("id") or "unknown")
    target = str(provider.get("label") or provider_id)
    response = row.get("response") or {}
    test = row.get("testCase") or {}
    metadata = {k: v for k, v in (test.get("metadata") or {}).items()}
    if row.get("vars") or test.get("vars"):
        metadata["vars"] = row.get("vars") or test.get("vars")
    if test.get("description"):
        metadata.setdefault("description", test["description"])
    failed = row.get("failureReason") == ERROR_REASON or (response.get("error") and response.get("output") is None)
    output = response.get("output")
    error = None
    if failed:
        error = str(response.get("error") or row.get("error") or "promptfoo recorded an error for this row")
        output = None
    elif output is None:
        error = "promptfoo recorded no output for this row"
    elif not isinstance(output, str):
        output = json.dumps(output, ensure_ascii=False)
    usage = response.get("tokenUsage") or row.get("tokenUsage") or {}
    grading = row.get("gradingResult")
    scores: list[ExternalScore] = []
    if error is None and (isinstance(grading, dict) or "success" in row):
        passed = grading.get("pass", row.get("success")) if isinstance(grading, dict) else row.get("success")
        reason = grading.get("reason") if isinstance(grading, dict) else None
        if passed is not None:
            scores.append(ExternalScore(_assertion_judge(row), passed, str(reason) if reason else None))
    return RawItem(
        where=where,
        prompt_id=_test_id(row, multi_prompt),
        prompt=prompt,
        messages=messages,
        metadata=metadata,
        target=target,
        target_model=provider_id,
        text=output,
        error=error,
        blocked=response.get("finishReason") == "content_filter",
        finish_reason=response.get("finishReason"),
        prompt_tokens=as_int(usage.get("prompt")),
        completion_tokens=as_int(usage.get("completion")),
        cost_usd=as_float(row.get("cost", response.get("cost"))),
        latency_ms=as_float(row.get("latencyMs", response.get("latencyMs"))),
        scores=scores,
    )
