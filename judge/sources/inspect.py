"""Inspect AI logs (`.eval` archives and `.json` logs, log schema version 2) as imported records.

Read directly from the documented format (inspect_ai itself cannot be installed beside judge's pinned
dependencies: it needs an older fsspec): the `.json` log holds `samples[]`; the `.eval` archive holds
`header.json` and one `samples/<id>_epoch_<n>.json` per sample (see eval_zip.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from judge.errors import UserInputError
from judge.sources.eval_zip import EvalArchive
from judge.sources.items import ExternalScore, RawItem, SourceFile, Tick, as_float, as_int, chat_messages, content_text

SUPPORTED_VERSIONS = (2,)


def read_inspect(path: Path, tick: Tick | None = None) -> SourceFile:
    """Every sample of an Inspect log as a RawItem (in dataset order, then epoch)."""
    raw = _read_bytes(path)
    if path.suffix == ".eval":
        header, samples = _read_eval(path)
    elif path.suffix == ".json":
        header, samples = _read_json(path, raw)
    else:
        raise UserInputError("expected an Inspect log ending in .eval or .json", file=path)
    ev = _header_eval(path, header)
    model = str(ev.get("model") or "unknown/model")
    order = {str(sid): n for n, sid in enumerate((ev.get("dataset") or {}).get("sample_ids") or [])}
    samples.sort(key=lambda s: (order.get(str(s.get("id")), len(order)), str(s.get("id")), s.get("epoch") or 1))
    epochs = max((int(s.get("epoch") or 1) for s in samples), default=1)
    items = []
    for s in samples:
        items.append(_item(path, s, model, epochs))
        if tick:
            tick(1)
    task = str(ev.get("task") or path.stem)
    info = {
        "task": task,
        "model": model,
        "status": header.get("status"),
        "inspect_ai": (ev.get("packages") or {}).get("inspect_ai"),
        "log_version": header.get("version"),
        "grader": ((ev.get("model_roles") or {}).get("grader") or {}).get("model"),
    }
    return SourceFile(
        "inspect", path, hashlib.sha256(raw).hexdigest(), str(ev.get("eval_id") or path.resolve()), task, items, info
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserInputError("file not found", file=path) from None
    except OSError as e:
        raise UserInputError(f"cannot read: {e.strerror}", file=path) from None


def _check_version(path: Path, header: dict[str, Any]) -> None:
    version = header.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise UserInputError(
            f"Inspect log schema version {version!r} is not supported (supported: {SUPPORTED_VERSIONS[0]})", file=path
        )


def _header_eval(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    ev = header.get("eval")
    if not isinstance(ev, dict):
        raise UserInputError("not an Inspect log: no 'eval' section", file=path)
    return ev


def _read_json(path: Path, raw: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserInputError(f"not valid JSON ({e})", file=path) from None
    if not isinstance(data, dict) or "eval" not in data:
        raise UserInputError("not an Inspect log: expected an object with 'version', 'eval' and 'samples'", file=path)
    _check_version(path, data)
    samples = data.get("samples")
    if not isinstance(samples, list) or not samples:
        raise UserInputError(f"the log has no samples (status {data.get('status')!r}; run with log_samples)", file=path)
    if not all(isinstance(s, dict) for s in samples):
        raise UserInputError("samples[] must hold objects", file=path)
    return data, samples


def _read_eval(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with EvalArchive(path) as archive:
        header = archive.json("header.json") if "header.json" in archive.names else archive.json("_journal/start.json")
        if not isinstance(header, dict):
            raise UserInputError("header.json is not an object", file=path)
        _check_version(path, header)
        names = [n for n in archive.names if n.startswith("samples/") and n.endswith(".json")]
        if not names:
            raise UserInputError(f"the log has no samples (status {header.get('status')!r})", file=path)
        samples = []
        for name in names:
            s = archive.json(name)
            if not isinstance(s, dict):
                raise UserInputError(f"member {name!r} is not a sample object", file=path)
            samples.append(s)
    return header, samples


def _where(s: dict[str, Any], epochs: int) -> str:
    return f"sample {s.get('id')!r}" + (f" epoch {s.get('epoch')}" if epochs > 1 else "")


def _answer(path: Path, s: dict[str, Any], where: str) -> tuple[str | None, str | None]:
    """(answer text, stop reason) from output.choices[0], else output.completion, else the last assistant turn."""
    output = s.get("output") or {}
    choices = output.get("choices") or []
    if choices and isinstance(choices[0], dict) and isinstance(choices[0].get("message"), dict):
        msg = choices[0]["message"]
        return content_text(msg.get("content"), file=path, where=where), choices[0].get("stop_reason")
    if isinstance(output.get("completion"), str) and output.get("completion"):
        return str(output["completion"]), None
    for m in reversed(s.get("messages") or []):
        if isinstance(m, dict) and m.get("role") == "assistant":
            return content_text(m.get("content"), file=path, where=where), None
    return None, None


def _scores(s: dict[str, Any]) -> list[ExternalScore]:
    out = []
    for name, score in sorted((s.get("scores") or {}).items()):
        if not isinstance(score, dict):
            continue
        value = score.get("value")
        grading = (score.get("metadata") or {}).get("grading") or []
        grader_prompt = None
        if grading and isinstance(grading[0], dict) and isinstance(grading[0].get("content"), str):
            grader_prompt = grading[0]["content"]
        explanation = score.get("explanation")
        values = value.items() if isinstance(value, dict) else [(None, value)]
        for key, v in values:
            judge = f"inspect:{name}" + (f"/{key}" if key is not None else "")
            out.append(ExternalScore(judge, v, str(explanation) if explanation is not None else None, grader_prompt))
    return out


def _item(path: Path, s: dict[str, Any], model: str, epochs: int) -> RawItem:
    where = _where(s, epochs)
    if s.get("id") is None:
        raise UserInputError(f"{where}: sample has no id", file=path)
    raw_input = s.get("input")
    prompt, messages = None, None
    if isinstance(raw_input, str):
        prompt = raw_input
    else:
        messages = chat_messages(raw_input, file=path, where=where)
    metadata = dict(s.get("metadata") or {})
    if s.get("target") not in (None, "", []):
        metadata.setdefault("inspect_target", s.get("target"))
    error = s.get("error")
    text, stop = (None, None) if error else _answer(path, s, where)
    output = s.get("output") or {}
    usage = output.get("usage") or {}
    cost = as_float(((s.get("model_usage") or {}).get(model) or {}).get("total_cost"))
    seconds = as_float(output.get("time"))
    if not error and text is None:
        error = {"message": "Inspect recorded no answer for this sample"}
    return RawItem(
        where=where,
        prompt_id=str(s["id"]),
        prompt=prompt,
        messages=messages,
        metadata=metadata,
        target=model,
        target_model=model,
        text=text,
        error=str(error.get("message") if isinstance(error, dict) else error) if error else None,
        blocked=stop == "content_filter",
        finish_reason=str(stop) if stop else None,
        prompt_tokens=as_int(usage.get("input_tokens")),
        completion_tokens=as_int(usage.get("output_tokens")),
        cost_usd=cost,
        latency_ms=seconds * 1000 if seconds is not None else None,
        scores=[] if error else _scores(s),
        fields={"epoch": s.get("epoch") or 1},
    )
