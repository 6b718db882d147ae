"""The loopback OpenAI Files/Batch and Anthropic Message Batches endpoints of the fake server (a mixin)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from fake_server.config import ServerConfig
from fake_server.protocols import AnthropicProtocol, OpenAIProtocol, Protocol, Reply, Request


def empty_batch_stats() -> dict[str, int]:
    return {"submitted": 0, "items": 0, "polls": 0, "completed": 0, "cancelled": 0, "result_downloads": 0}


class BatchEndpoints:
    """Mixed into FakeModelServer: batches are answered through its online `_chat` path."""

    # provided by FakeModelServer
    _lock: threading.Lock
    _batch_lock: threading.Lock  # one batch is processed once, even with concurrent polls
    _batch_stats: dict[str, dict[str, int]]
    _files: dict[str, bytes]
    _batches: dict[str, dict[str, Any]]
    _chat: Callable[[Request, Protocol], Reply]
    _log: Callable[[str], None]
    config: ServerConfig
    url: str

    # ---- batch APIs ------------------------------------------------------------------------------
    # A batch is answered line by line through the online code path (``_chat``), so per-model
    # responders, judge rules, disagree_on, faults and accounting are the same as online; latency and
    # hangs are skipped. It reports "in_progress" for ``batch_in_progress_polls`` polls, then runs.

    def _batch_bump(self, provider: str, counter: str, n: int = 1) -> None:
        with self._lock:
            st = self._batch_stats.setdefault(provider, empty_batch_stats())
            st[counter] += n

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            n = len(self._files) + len(self._batches) + 1
        return f"{prefix}{hashlib.sha256(f'{prefix}|{n}|{time.time_ns()}'.encode()).hexdigest()[:24]}"

    def _run_line(self, proto: Protocol, body: Any, headers: Mapping[str, str]) -> tuple[int, Any]:
        """One batch line through the online path: (HTTP status, JSON body)."""
        sub = Request("POST", "/batch-line", {}, headers, json.dumps(body).encode(), {}, lambda _s: False)
        reply = self._chat(sub, proto)
        if reply.drop:
            return 500, proto.error(500, "server_error", "The server dropped the request.").body
        if isinstance(reply.body, bytes):  # a malformed answer: the batch reports an internal error
            return 500, proto.error(500, "server_error", "The model returned a malformed answer.").body
        if reply.status == 200 and reply.count is not None:
            reply.count(+1)
        return reply.status, reply.body

    def _batch_poll(self, batch_id: str, provider: str) -> dict[str, Any] | None:
        """Count a status poll; run the batch when its in-progress polls are used up."""
        with self._batch_lock:
            b = self._batches.get(batch_id)
            if b is None or b["provider"] != provider:
                return None
            self._batch_bump(provider, "polls")
            b["polls"] += 1
            if b["state"] == "in_progress" and b["polls"] > self.config.batch_in_progress_polls:
                self._process_batch(b)
            return b

    def _process_batch(self, b: dict[str, Any]) -> None:
        outcome = self.config.batch_outcome
        proto: Protocol = OpenAIProtocol() if b["provider"] == "openai" else AnthropicProtocol()
        lines = b["lines"]
        answered = lines if outcome == "completed" else lines[: len(lines) // 2] if outcome == "expired" else []
        b["results"] = [(cid, *self._run_line(proto, body, b["headers"])) for cid, body in answered]
        b["unanswered"] = [cid for cid, _ in lines[len(answered) :]]
        b["state"] = outcome
        b["ended_at"] = int(time.time())
        if outcome == "failed" and b["provider"] == "openai":
            b["errors"] = [
                {"code": "batch_failed", "message": "The batch failed (scripted).", "param": None, "line": None}
            ]
        self._batch_bump(b["provider"], "completed")

    def _register_batch(
        self, provider: str, batch_id: str, lines: list[tuple[str, Any]], headers: Mapping[str, str], **extra: Any
    ) -> dict[str, Any]:
        b = {
            "id": batch_id,
            "provider": provider,
            "lines": lines,
            "headers": dict(headers),
            "polls": 0,
            "state": "in_progress",
            "created_at": int(time.time()),
            "ended_at": None,
            "results": [],
            "unanswered": [],
            **extra,
        }
        with self._batch_lock:
            self._batches[batch_id] = b
        self._batch_bump(provider, "submitted")
        self._batch_bump(provider, "items", len(lines))
        self._log(f"{provider} batch {batch_id} submitted with {len(lines)} item(s)")
        return b

    # -- OpenAI --

    def _openai_file_upload(self, req: Request) -> Reply:
        from email import policy
        from email.parser import BytesParser

        ctype = req.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return OpenAIProtocol().error(400, "bad_request", "expected multipart/form-data")
        msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
        if "file" not in fields:
            return OpenAIProtocol().error(400, "bad_request", "missing 'file'")
        purpose = fields.get("purpose", (None, b"batch"))[1].decode()
        filename, data = fields["file"]
        file_id = self._new_id("file-")
        with self._lock:
            self._files[file_id] = data
        return Reply(200, self._file_object(file_id, filename or "upload.jsonl", purpose, len(data)))

    @staticmethod
    def _file_object(file_id: str, filename: str, purpose: str, size: int) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
        }

    def _openai_file_content(self, req: Request) -> Reply:
        with self._lock:
            data = self._files.get(req.params["file_id"])
        if data is None:
            return OpenAIProtocol().error(404, "not_found", f"No such File object: {req.params['file_id']}")
        self._batch_bump("openai", "result_downloads")
        return Reply(200, data, {"Content-Type": "application/octet-stream"})

    def _openai_batch_create(self, req: Request) -> Reply:
        proto = OpenAIProtocol()
        try:
            body = req.json()
            input_file_id = str(body["input_file_id"])
            endpoint = str(body["endpoint"])
        except (ValueError, KeyError, TypeError) as e:
            return proto.error(400, "bad_request", f"invalid request: {e}")
        with self._lock:
            data = self._files.get(input_file_id)
        if data is None:
            return proto.error(400, "bad_request", f"No such File object: {input_file_id}")
        lines: list[tuple[str, Any]] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for n, raw in enumerate(data.decode("utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                cid = str(row["custom_id"])
                if row.get("url") != endpoint or row.get("method", "POST") != "POST":
                    raise ValueError(f"url must be {endpoint} and method POST")
                if cid in seen:
                    raise ValueError(f"duplicate custom_id {cid!r}")
                seen.add(cid)
                lines.append((cid, row["body"]))
            except (ValueError, KeyError, TypeError) as e:
                errors.append({"code": "invalid_request", "message": str(e), "param": None, "line": n})
        batch_id = self._new_id("batch_")
        b = self._register_batch(
            "openai",
            batch_id,
            lines,
            req.headers,
            input_file_id=input_file_id,
            endpoint=endpoint,
            window=str(body.get("completion_window", "24h")),
            metadata=body.get("metadata"),
            errors=errors,
        )
        if errors:
            with self._batch_lock:
                b["state"], b["ended_at"] = "failed", int(time.time())
        return Reply(200, self._openai_batch_object(b))

    def _openai_batch_object(self, b: dict[str, Any]) -> dict[str, Any]:
        state = b["state"]
        out: dict[str, Any] = {
            "id": b["id"],
            "object": "batch",
            "endpoint": b["endpoint"],
            "input_file_id": b["input_file_id"],
            "completion_window": b["window"],
            "status": state,
            "created_at": b["created_at"],
            "in_progress_at": b["created_at"],
            "expires_at": b["created_at"] + 86400,
            "metadata": b["metadata"],
            "output_file_id": b.get("output_file_id"),
            "error_file_id": b.get("error_file_id"),
            "errors": {"object": "list", "data": b["errors"]} if b["errors"] else None,
            "request_counts": {"total": len(b["lines"]), "completed": 0, "failed": 0},
        }
        for key in ("completed", "failed", "expired", "cancelled"):
            out[f"{key}_at"] = b["ended_at"] if state == key else None
        if state in ("completed", "expired", "cancelled") and "output_file_id" not in b:
            ok = [self._openai_result_line(cid, st, body) for cid, st, body in b["results"] if st == 200]
            bad = [self._openai_result_line(cid, st, body) for cid, st, body in b["results"] if st != 200]
            bad += [self._openai_result_line(cid, None, None, code=f"batch_{state}") for cid in b["unanswered"]]
            b["output_file_id"] = self._store_jsonl(ok) if ok else None
            b["error_file_id"] = self._store_jsonl(bad) if bad else None
            out["output_file_id"], out["error_file_id"] = b["output_file_id"], b["error_file_id"]
        if state != "in_progress":
            n_ok = sum(1 for _, st, _ in b["results"] if st == 200)
            out["request_counts"] = {"total": len(b["lines"]), "completed": n_ok, "failed": len(b["lines"]) - n_ok}
        return out

    @staticmethod
    def _openai_result_line(cid: str, status: int | None, body: Any, code: str | None = None) -> dict[str, Any]:
        rid = hashlib.sha256(cid.encode()).hexdigest()[:16]
        if status is None:
            message = f"This request could not be executed before the batch was {code}."
            return {
                "id": f"batch_req_{rid}",
                "custom_id": cid,
                "response": None,
                "error": {"code": code, "message": message},
            }
        return {
            "id": f"batch_req_{rid}",
            "custom_id": cid,
            "response": {"status_code": status, "request_id": f"req_{rid}", "body": body},
            "error": None,
        }

    def _store_jsonl(self, rows: list[dict[str, Any]]) -> str:
        file_id = self._new_id("file-")
        with self._lock:
            self._files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
        return file_id

    def _openai_batch_get(self, req: Request) -> Reply:
        b = self._batch_poll(req.params["batch_id"], "openai")
        if b is None:
            return OpenAIProtocol().error(404, "not_found", f"No such batch: {req.params['batch_id']}")
        return Reply(200, self._openai_batch_object(b))

    def _openai_batch_cancel(self, req: Request) -> Reply:
        with self._batch_lock:
            b = self._batches.get(req.params["batch_id"])
            if b is None or b["provider"] != "openai":
                return OpenAIProtocol().error(404, "not_found", f"No such batch: {req.params['batch_id']}")
            if b["state"] == "in_progress":
                b["state"], b["ended_at"] = "cancelled", int(time.time())
                b["unanswered"] = [cid for cid, _ in b["lines"]]
                self._batch_bump("openai", "cancelled")
        return Reply(200, self._openai_batch_object(b))

    # -- Anthropic --

    def _anthropic_batch_create(self, req: Request) -> Reply:
        proto = AnthropicProtocol()
        try:
            body = req.json()
            requests = body["requests"]
            lines = [(str(r["custom_id"]), dict(r["params"])) for r in requests]
        except (ValueError, KeyError, TypeError) as e:
            return proto.error(400, "bad_request", f"requests: {e}")
        if not lines or len({cid for cid, _ in lines}) != len(lines):
            return proto.error(400, "bad_request", "requests: must be non-empty with unique custom_id values")
        b = self._register_batch("anthropic", self._new_id("msgbatch_"), lines, req.headers)
        return Reply(200, self._anthropic_batch_object(b))

    def _anthropic_batch_object(self, b: dict[str, Any]) -> dict[str, Any]:
        ended = b["state"] != "in_progress"
        counts = {
            "processing": 0 if ended else len(b["lines"]),
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        if ended:
            counts["succeeded"] = sum(1 for _, st, _ in b["results"] if st == 200)
            counts["errored"] = len(b["results"]) - counts["succeeded"]
            counts["canceled" if b["state"] == "cancelled" else "expired"] = len(b["unanswered"])
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else None  # noqa: E731
        return {
            "id": b["id"],
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": iso(b["created_at"]),
            "ended_at": iso(b["ended_at"]),
            "expires_at": iso(b["created_at"] + 86400),
            "archived_at": None,
            "cancel_initiated_at": iso(b["ended_at"]) if b["state"] == "cancelled" else None,
            "results_url": f"{self.url}/v1/messages/batches/{b['id']}/results" if ended else None,
        }

    def _anthropic_batch_get(self, req: Request) -> Reply:
        b = self._batch_poll(req.params["batch_id"], "anthropic")
        if b is None:
            return AnthropicProtocol().error(404, "not_found", f"batch {req.params['batch_id']} not found")
        return Reply(200, self._anthropic_batch_object(b))

    def _anthropic_batch_cancel(self, req: Request) -> Reply:
        with self._batch_lock:
            b = self._batches.get(req.params["batch_id"])
            if b is None or b["provider"] != "anthropic":
                return AnthropicProtocol().error(404, "not_found", f"batch {req.params['batch_id']} not found")
            if b["state"] == "in_progress":
                b["state"], b["ended_at"] = "cancelled", int(time.time())
                b["unanswered"] = [cid for cid, _ in b["lines"]]
                self._batch_bump("anthropic", "cancelled")
        return Reply(200, self._anthropic_batch_object(b))

    def _anthropic_batch_results(self, req: Request) -> Reply:
        with self._batch_lock:
            b = self._batches.get(req.params["batch_id"])
        if b is None or b["provider"] != "anthropic":
            return AnthropicProtocol().error(404, "not_found", f"batch {req.params['batch_id']} not found")
        if b["state"] == "in_progress":
            return AnthropicProtocol().error(400, "bad_request", "batch is still in progress")
        self._batch_bump("anthropic", "result_downloads")
        rows: list[dict[str, Any]] = []
        for cid, status, body in b["results"]:
            if status == 200:
                rows.append({"custom_id": cid, "result": {"type": "succeeded", "message": body}})
            else:
                rows.append({"custom_id": cid, "result": {"type": "errored", "error": body}})
        kind = "canceled" if b["state"] == "cancelled" else "expired"
        rows += [{"custom_id": cid, "result": {"type": kind}} for cid in b["unanswered"]]
        data = "".join(json.dumps(r) + "\n" for r in rows).encode()
        return Reply(200, data, {"Content-Type": "application/binary"})
