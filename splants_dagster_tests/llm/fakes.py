"""Fake OpenAI (Chat Completions) and Anthropic (Messages) servers on 127.0.0.1.

They speak the real wire formats: request JSON as the official SDKs send it (checked), response JSON with
``usage`` (cached prompt tokens included), error bodies and ``Retry-After`` headers. The "model" writes
from the prompt it receives, so what comes back depends on what was sent, like a real one. Each server
keeps count of what it billed (a 200 with usage, whatever the text) and what it failed, so tests can
compare the ledger with it exactly.

Faults are scripted per request by a ``Script`` (see :func:`hashed_faults` for a deterministic ~30% mix).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from splants_dagster_tests.fixtures_http import FakeAPI, Recorded, Reply

# what a scripted request does instead of answering normally
FAULTS = ("429", "500", "529", "timeout", "reset", "malformed", "empty", "truncated", "refusal", "401")
BILLED_FAULTS = frozenset({"malformed", "empty", "truncated", "refusal"})

Script = Callable[["Call"], str | None]


@dataclass
class Call:
    """One request as the fake model sees it."""

    index: int
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    system: str
    shared: str
    instruction: str
    attempt: int = 0  # how often the server has seen this logical request, this one included

    @property
    def task(self) -> str:
        if "## Task: merge the drafts" in self.instruction:
            return "merge"
        if "## Task: keyword research" in self.instruction:
            return "keywords"
        if "## Task: audience insights" in self.instruction:
            return "audience"
        return "piece"

    @property
    def fingerprint(self) -> str:
        """Identifies the logical request (retries of a rejected reply add a note: ignored here)."""
        base = self.instruction.split("\n\nYour previous reply could not be used", 1)[0]
        return hashlib.sha256(f"{self.body.get('model')}|{self.shared}|{base}".encode()).hexdigest()


def tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


# ---------------------------------------------------------------------------------------------- writer


def _brief(shared: str) -> dict[str, Any]:
    m = re.search(r"## Campaign brief\n(\{.*?\})\n", shared + "\n", re.S)
    return json.loads(m.group(1)) if m else {}


def write_reply(call: Call, voice: str) -> dict[str, Any]:
    """A plausible JSON answer to the task in the prompt, in the voice of ``voice`` (the provider)."""
    brief = _brief(call.shared)
    keywords = brief.get("keywords") or ["coffee"]
    if call.task == "keywords":
        return {"keywords": [{"keyword": f"best {k}", "relevance": 0.8} for k in keywords[:4]]}
    if call.task == "audience":
        return {
            "segments": ["busy home coffee drinkers"],
            "pain_points": ["pod waste"],
            "motivations": ["better coffee with less waste"],
            "questions": [f"Are {keywords[0]} worth it?"],
            "channels": ["search", "email"],
            "goal_alignment": "Tie every message to the pre-order goal.",
        }
    lo, hi = 40, 60
    m = re.search(r"Length: (\d+)-(\d+) words", call.instruction)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
    target = max(lo, min(hi, (lo + hi) // 2))
    limit = re.search(r"whole post including hashtags must be at most (\d+) characters", call.instruction)
    kw = keywords[0]
    cta = brief.get("call_to_action") or "Learn more"
    link = brief.get("link") or ""
    sentences = [
        f"Our {kw} break down in a home compost bin, so your {keywords[-1]} goes back to the soil.",
        f"{voice.title()} tested every pod with specialty coffee roasted in small batches.",
        "Each box holds enough for a month of morning cups.",
        f"Switching takes one order and no new machine: they fit the {keywords[min(3, len(keywords) - 1)]} you own.",
        "We explain what happens to every part of the pod after you use it.",
    ]
    words: list[str] = []
    i = 0
    while len(words) < target:
        words += sentences[i % len(sentences)].split()
        i += 1
    body_text = " ".join(words[:target]).rstrip(".,;:") + "."
    if "H2" in call.instruction:
        third = len(body_text) // 3
        body = (
            f"{body_text[:third]}\n\n## Why {kw} matter\n\n{body_text[third : 2 * third]}\n\n"
            f"## How they work\n\n{body_text[2 * third :]}\n\n## Get started\n\n{cta}: {link}"
        )
    else:
        body = f"{body_text} {cta}: {link}"
    if limit:
        body = body[: max(60, int(limit.group(1)) - 60)]
    return {
        "title": ("Merged: " if call.task == "merge" else "") + f"{kw.title()}: good coffee, less waste",
        "body": body,
        "hashtags": ["#CompostablePods"],
        "cta": cta,
        "seo_title": f"{kw.title()} for your pod machine"[:60],
        "meta_description": (
            f"Home compostable {kw} for specialty coffee lovers: how they work, what they cost and how "
            "to pre-order the starter pack today."
        )[:158],
        "subject": f"Meet our {kw}"[:60],
        "preheader": "Good coffee, less pod waste: pre-order the starter pack this week.",
    }


# ---------------------------------------------------------------------------------------------- servers


@dataclass
class Ledger:
    """What a fake server did: the calls it billed and the requests it failed."""

    billed: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


class FakeLLMServer(FakeAPI):
    """Base: auth check, scripting, counting, prompt-cache simulation. Use as a context manager."""

    kind = "base"

    def __init__(
        self,
        api_key: str,
        *,
        script: Script | None = None,
        latency_s: float = 0.0,
        timeout_sleep_s: float = 3.0,
        retry_after: dict[str, str] | None = None,
        echo_key_on_401: bool = False,
    ):
        self.api_key = api_key
        self.script = script
        self.latency_s = latency_s
        self.timeout_sleep_s = timeout_sleep_s
        self.retry_after = retry_after if retry_after is not None else {"retry-after-ms": "5"}
        self.echo_key_on_401 = echo_key_on_401
        self.ledger = Ledger()
        self.calls: list[Call] = []
        self.attempts: dict[str, int] = {}
        self._prefixes: set[str] = set()
        self._lock = threading.Lock()
        super().__init__(poll_interval=0.01)
        # socketserver listens with a backlog of 5: dozens of concurrent connects would overflow it and see
        # resets a real API never sends
        self.server.server.socket.listen(256)

    # -- per-kind hooks
    def authorized(self, rec: Recorded) -> bool:
        raise NotImplementedError

    def parse(self, index: int, rec: Recorded) -> Call:
        raise NotImplementedError

    def ok(self, call: Call, text: str, finish: str, cache_prefix: str) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, status: int, kind: str, message: str) -> dict[str, Any]:
        raise NotImplementedError

    # -- the handler
    def _auth_message(self, headers: dict[str, str]) -> str:
        message = "Incorrect API key provided"
        if self.echo_key_on_401:  # a hostile server: the key must still never reach logs or the ledger
            auth = headers.get("x-api-key") or headers.get("authorization", "")
            message += f": {auth.removeprefix('Bearer ')}"
        return message

    def _handle(self, rec: Recorded) -> Reply:
        if not self.authorized(rec):
            with self._lock:
                self.ledger.failed.append("401")
            return Reply(401, self.error(401, "authentication_error", self._auth_message(rec.headers)))
        with self._lock:
            index = len(self.calls)
            call = self.parse(index, rec)
            self.calls.append(call)
            self.attempts[call.fingerprint] = call.attempt = self.attempts.get(call.fingerprint, 0) + 1
            self.ledger.in_flight += 1
            self.ledger.max_in_flight = max(self.ledger.max_in_flight, self.ledger.in_flight)
        try:
            fault = self.script(call) if self.script else None
            return self._reply(call, fault)
        finally:
            with self._lock:
                self.ledger.in_flight -= 1

    def _reply(self, call: Call, fault: str | None) -> Reply:
        if fault == "401":
            with self._lock:
                self.ledger.failed.append(fault)
            return Reply(401, self.error(401, "authentication_error", self._auth_message(call.headers)))
        if fault in ("429", "500", "529", "timeout", "reset"):
            with self._lock:
                self.ledger.failed.append(fault)
            if fault == "429":
                return Reply(
                    429, self.error(429, "rate_limit_error", "Rate limit reached"), headers=self.retry_after
                )
            if fault in ("500", "529"):
                return Reply(int(fault), self.error(int(fault), "api_error", "The server had an error"))
            if fault == "timeout":
                return Reply(drop_connection=True, delay_s=self.timeout_sleep_s)
            return Reply(drop_connection=True)
        if self.latency_s:
            time.sleep(self.latency_s)
        voice = self.kind
        text = json.dumps(write_reply(call, voice))
        finish = "stop"
        if fault == "malformed":
            text = text[: len(text) // 2] + " ...sorry, I lost my place"
        elif fault == "empty":
            text = ""
        elif fault == "truncated":
            text, finish = text[: len(text) // 2], "length"
        elif fault == "refusal":
            text, finish = "I'm sorry, I can't help with that.", "refusal"
        body = self.ok(call, text, finish, call.system + call.shared)
        with self._lock:
            self.ledger.billed.append({"fault": fault, "usage": body["usage"], "task": call.task})
        return Reply(200, body)

    def cache_tokens(self, prefix: str) -> tuple[int, bool]:
        """(prefix tokens, whether the prefix was already cached), like the providers' prompt caches."""
        with self._lock:
            seen = prefix in self._prefixes
            self._prefixes.add(prefix)
        return tokens(prefix), seen


class FakeOpenAI(FakeLLMServer):
    """``POST /v1/chat/completions``; base_url for the SDK is ``self.base_url``."""

    kind = "openai"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def authorized(self, rec: Recorded) -> bool:
        return rec.headers.get("authorization") == f"Bearer {self.api_key}"

    def parse(self, index: int, rec: Recorded) -> Call:
        assert rec.method == "POST" and rec.path == "/v1/chat/completions", rec.path
        body = rec.json()
        assert body["model"] and body["messages"], body
        system = next(m["content"] for m in body["messages"] if m["role"] == "system")
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        shared, _, instruction = user.partition("\n\n## Task")
        return Call(index, rec.path, rec.headers, body, system, shared, "## Task" + instruction)

    def ok(self, call: Call, text: str, finish: str, cache_prefix: str) -> dict[str, Any]:
        prompt = tokens(call.system) + tokens(call.shared + call.instruction)
        prefix, seen = self.cache_tokens(cache_prefix)
        cached = (prefix // 128) * 128 if seen else 0  # OpenAI caches in 128-token steps
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if finish == "refusal":
            message = {"role": "assistant", "content": None, "refusal": text}
            finish = "stop"
        return {
            "id": f"chatcmpl-{call.index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.body["model"],
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": tokens(text or " "),
                "total_tokens": prompt + tokens(text or " "),
                "prompt_tokens_details": {"cached_tokens": min(cached, prompt), "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        }

    def error(self, status: int, kind: str, message: str) -> dict[str, Any]:
        codes = {429: "rate_limit_exceeded", 401: "invalid_api_key"}
        types = {429: "requests", 401: "invalid_request_error"}
        return {
            "error": {
                "message": message,
                "type": types.get(status, "server_error"),
                "param": None,
                "code": codes.get(status),
            }
        }


class FakeAnthropic(FakeLLMServer):
    """``POST /v1/messages``; base_url for the SDK is ``self.url``."""

    kind = "anthropic"

    @property
    def base_url(self) -> str:
        return self.url

    def authorized(self, rec: Recorded) -> bool:
        return self.api_key in (rec.headers.get("x-api-key"), rec.headers.get("authorization", "")[7:])

    def parse(self, index: int, rec: Recorded) -> Call:
        assert rec.method == "POST" and rec.path == "/v1/messages", rec.path
        assert rec.headers.get("anthropic-version"), "the SDK always sends anthropic-version"
        body = rec.json()
        assert body["model"] and body["max_tokens"] > 0, body
        system = "".join(b["text"] for b in body["system"])
        blocks = body["messages"][0]["content"]
        cached = [b for b in blocks if b.get("cache_control")]
        shared = cached[0]["text"] if cached else ""
        instruction = "".join(b["text"] for b in blocks if not b.get("cache_control"))
        return Call(index, rec.path, rec.headers, body, system, shared, instruction)

    def ok(self, call: Call, text: str, finish: str, cache_prefix: str) -> dict[str, Any]:
        stop = {"stop": "end_turn", "length": "max_tokens", "refusal": "refusal"}[finish]
        read = write = 0
        if call.shared:  # only a prefix ending in a cache_control breakpoint is cached
            prefix, seen = self.cache_tokens(cache_prefix)
            read, write = (prefix, 0) if seen else (0, prefix)
        total = tokens(call.system) + tokens(call.shared) + tokens(call.instruction)
        return {
            "id": f"msg_{call.index:06d}",
            "type": "message",
            "role": "assistant",
            "model": call.body["model"],
            "content": [{"type": "text", "text": text}] if text else [],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": max(0, total - read - write),
                "output_tokens": tokens(text or " "),
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
            },
        }

    def error(self, status: int, kind: str, message: str) -> dict[str, Any]:
        kinds = {429: "rate_limit_error", 401: "authentication_error", 529: "overloaded_error"}
        return {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": message}}


# ---------------------------------------------------------------------------------------------- scripts


def hashed_faults(kinds: tuple[str, ...] = ("429", "500", "timeout", "reset")) -> Script:
    """About 30% of requests fail. Which logical requests fail, and how often (once or twice, so bounded
    retries always get through), is decided by the request's hash, whatever the arrival order; the kinds
    of fault take turns, so four or more faults cover all of ``kinds``."""
    lock = threading.Lock()
    injected = [0]

    def script(call: Call) -> str | None:
        h = int(call.fingerprint[:8], 16)
        failures = 0 if h % 10 < 5 else (1 if h % 10 < 8 else 2)
        if call.attempt > failures:
            return None
        with lock:
            kind = kinds[injected[0] % len(kinds)]
            injected[0] += 1
        return kind

    return script


def first_attempts(fault: str, *, every: int = 1, task: str | None = "piece") -> Script:
    """``fault`` on the first attempt of every ``every``-th logical request (of ``task``)."""

    def script(call: Call) -> str | None:
        if task and call.task != task:
            return None
        h = int(call.fingerprint[:8], 16)
        return fault if h % every == 0 and call.attempt == 1 else None

    return script


class SilentServer:
    """A server on 127.0.0.1 that accepts connections, reads the requests and never answers (a hung LLM
    server or a proxy that lost its upstream). ``accepted`` counts connections. A context manager; closing
    it drops every held connection."""

    def __init__(self) -> None:
        import socket

        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._sock.settimeout(0.05)
        self._held: list[Any] = []
        self._stop = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)  # requests fit the socket buffer: never read, never answered
            self.accepted += 1

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """As an OpenAI-compatible base URL."""
        return f"{self.url}/v1"

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self._sock.close()
