"""Fake OpenAI Batch and Anthropic Message Batches endpoints on 127.0.0.1, beside the fake synchronous APIs
of ``splants_dagster_tests/llm/fakes.py`` (research still calls Chat Completions / Messages at once).

Wire formats as the official SDKs speak them:

- OpenAI: ``POST /v1/files`` (multipart, ``purpose=batch``, a JSONL of ``{"custom_id", "method", "url",
  "body"}``), ``POST /v1/batches``, ``GET /v1/batches/{id}``, ``GET /v1/files/{id}/content`` (the output
  JSONL of ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``).
- Anthropic: ``POST /v1/messages/batches`` (``{"requests": [{"custom_id", "params"}]}``),
  ``GET /v1/messages/batches/{id}``, ``GET <results_url>`` (JSONL of ``{"custom_id", "result": {"type":
  "succeeded", "message": {...}}}``).

A batch stays in progress until the test calls :meth:`finish`, which answers every request the way the
synchronous fake would (same writer, same usage), optionally failing some.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import json
import time
from typing import Any

from splants_dagster_tests.fixtures_http import Recorded, Reply
from splants_dagster_tests.llm.fakes import FakeAnthropic, FakeOpenAI, write_reply


def _multipart(rec: Recorded) -> dict[str, bytes]:
    head = f"Content-Type: {rec.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(head + rec.body)
    assert message.is_multipart(), "files.create sends multipart/form-data"
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.get_payload()
    }


class FakeOpenAIBatches(FakeOpenAI):
    def __init__(self, api_key: str, **kwargs: Any):
        super().__init__(api_key, **kwargs)
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_lines: dict[str, list[dict[str, Any]]] = {}
        self.batch_billed: list[dict[str, Any]] = []

    def _handle(self, rec: Recorded) -> Reply:
        path = rec.path.split("?", 1)[0]
        if path == "/v1/chat/completions":
            return super()._handle(rec)
        if not self.authorized(rec):
            return Reply(401, self.error(401, "invalid_request_error", "Incorrect API key provided"))
        with self._lock:
            if rec.method == "POST" and path == "/v1/files":
                parts = _multipart(rec)
                assert parts["purpose"] == b"batch", parts.get("purpose")
                file_id = f"file-{len(self.files) + 1:04d}"
                self.files[file_id] = parts["file"]
                return Reply(
                    200,
                    {
                        "id": file_id,
                        "object": "file",
                        "bytes": len(parts["file"]),
                        "created_at": int(time.time()),
                        "filename": "splants-batch.jsonl",
                        "purpose": "batch",
                        "status": "processed",
                    },
                )
            if rec.method == "POST" and path == "/v1/batches":
                body = rec.json()
                assert body["endpoint"] == "/v1/chat/completions" and body["completion_window"] == "24h", body
                lines = [json.loads(x) for x in self.files[body["input_file_id"]].decode().splitlines() if x]
                assert all(x["method"] == "POST" and x["url"] == "/v1/chat/completions" for x in lines)
                batch_id = f"batch_{len(self.batches) + 1:04d}"
                self.batch_lines[batch_id] = lines
                self.batches[batch_id] = {
                    "id": batch_id,
                    "object": "batch",
                    "endpoint": body["endpoint"],
                    "errors": None,
                    "input_file_id": body["input_file_id"],
                    "completion_window": "24h",
                    "status": "in_progress",
                    "output_file_id": None,
                    "error_file_id": None,
                    "created_at": int(time.time()),
                    "in_progress_at": int(time.time()),
                    "completed_at": None,
                    "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                    "metadata": body.get("metadata"),
                }
                return Reply(200, self.batches[batch_id])
            if rec.method == "GET" and path.startswith("/v1/batches/"):
                batch = self.batches.get(path.rsplit("/", 1)[1])
                return (
                    Reply(200, batch) if batch else Reply(404, self.error(404, "not_found", "No such batch"))
                )
            if rec.method == "GET" and path.startswith("/v1/files/") and path.endswith("/content"):
                data = self.files[path.split("/")[3]]
                return Reply(200, raw=data, headers={"content-type": "application/octet-stream"})
        raise AssertionError(f"unexpected request {rec.method} {rec.path}")

    def finish(self, batch_id: str | None = None, fail: set[str] = frozenset()) -> None:
        """Answer every request of the batch (the last one by default); ``fail``: custom ids that error."""
        batch_id = batch_id or sorted(self.batches)[-1]
        out, errors = [], []
        for i, line in enumerate(self.batch_lines[batch_id]):
            cid = line["custom_id"]
            if cid in fail:
                errors.append(
                    {
                        "id": f"batch_req_{i}",
                        "custom_id": cid,
                        "response": None,
                        "error": {"code": "server_error", "message": "The model failed to answer"},
                    }
                )
                continue
            rec = Recorded("POST", "/v1/chat/completions", {}, json.dumps(line["body"]).encode())
            call = self.parse(10_000 + i, rec)
            body = self.ok(call, json.dumps(write_reply(call, self.kind)), "stop", call.system + call.shared)
            self.batch_billed.append({"usage": body["usage"], "task": call.task})
            out.append(
                {
                    "id": f"batch_req_{i}",
                    "custom_id": cid,
                    "response": {"status_code": 200, "request_id": f"req_{i}", "body": body},
                    "error": None,
                }
            )
        with self._lock:
            batch = self.batches[batch_id]
            for key, rows in (("output_file_id", out), ("error_file_id", errors)):
                if rows:
                    file_id = f"file-{len(self.files) + 1:04d}"
                    self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                    batch[key] = file_id
            batch.update(
                status="completed",
                completed_at=int(time.time()),
                request_counts={
                    "total": len(out) + len(errors),
                    "completed": len(out),
                    "failed": len(errors),
                },
            )


class FakeAnthropicBatches(FakeAnthropic):
    def __init__(self, api_key: str, **kwargs: Any):
        super().__init__(api_key, **kwargs)
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_requests: dict[str, tuple[dict[str, str], list[dict[str, Any]]]] = {}
        self.results: dict[str, bytes] = {}
        self.batch_billed: list[dict[str, Any]] = []

    def _handle(self, rec: Recorded) -> Reply:
        path = rec.path.split("?", 1)[0]
        if path == "/v1/messages":
            return super()._handle(rec)
        if not self.authorized(rec):
            return Reply(401, self.error(401, "authentication_error", "invalid x-api-key"))
        assert rec.headers.get("anthropic-version"), "the SDK always sends anthropic-version"
        with self._lock:
            if rec.method == "POST" and path == "/v1/messages/batches":
                requests = rec.json()["requests"]
                assert all(set(r) == {"custom_id", "params"} for r in requests), requests[:1]
                batch_id = f"msgbatch_{len(self.batches) + 1:04d}"
                self.batch_requests[batch_id] = (dict(rec.headers), requests)
                now = dt.datetime.now(dt.UTC)
                self.batches[batch_id] = {
                    "id": batch_id,
                    "type": "message_batch",
                    "processing_status": "in_progress",
                    "request_counts": {
                        "processing": len(requests),
                        "succeeded": 0,
                        "errored": 0,
                        "canceled": 0,
                        "expired": 0,
                    },
                    "ended_at": None,
                    "created_at": now.isoformat(),
                    "expires_at": (now + dt.timedelta(hours=24)).isoformat(),
                    "archived_at": None,
                    "cancel_initiated_at": None,
                    "results_url": None,
                }
                return Reply(200, self.batches[batch_id])
            parts = path.split("/")
            if rec.method == "GET" and len(parts) == 5 and path.startswith("/v1/messages/batches/"):
                batch = self.batches.get(parts[4])
                return (
                    Reply(200, batch) if batch else Reply(404, self.error(404, "not_found_error", "no batch"))
                )
            if rec.method == "GET" and path.endswith("/results"):
                return Reply(200, raw=self.results[parts[4]], headers={"content-type": "application/binary"})
        raise AssertionError(f"unexpected request {rec.method} {rec.path}")

    def finish(self, batch_id: str | None = None, fail: set[str] = frozenset()) -> None:
        batch_id = batch_id or sorted(self.batches)[-1]
        headers, requests = self.batch_requests[batch_id]
        lines, ok = [], 0
        for i, item in enumerate(requests):
            cid = item["custom_id"]
            if cid in fail:
                lines.append(
                    {
                        "custom_id": cid,
                        "result": {
                            "type": "errored",
                            "error": {
                                "type": "error",
                                "error": {"type": "api_error", "message": "Internal error"},
                            },
                        },
                    }
                )
                continue
            rec = Recorded("POST", "/v1/messages", headers, json.dumps(item["params"]).encode())
            call = self.parse(10_000 + i, rec)
            body = self.ok(call, json.dumps(write_reply(call, self.kind)), "stop", call.system + call.shared)
            self.batch_billed.append({"usage": body["usage"], "task": call.task})
            lines.append({"custom_id": cid, "result": {"type": "succeeded", "message": body}})
            ok += 1
        with self._lock:
            self.results[batch_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
            self.batches[batch_id].update(
                processing_status="ended",
                ended_at=dt.datetime.now(dt.UTC).isoformat(),
                results_url=f"{self.url}/v1/messages/batches/{batch_id}/results",
                request_counts={
                    "processing": 0,
                    "succeeded": ok,
                    "errored": len(lines) - ok,
                    "canceled": 0,
                    "expired": 0,
                },
            )
