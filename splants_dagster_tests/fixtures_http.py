"""Test helpers: fake HTTP servers on loopback, service availability, campaign materialization."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DEMO_CAMPAIGN = "compostable-pods-launch"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: bytes | None = None
    drop_connection: bool = False


Handler = Callable[[Recorded], Reply]


class FakeServer:
    """A real HTTP server on 127.0.0.1 (random port) answering with ``handler``; records every request.

    Tests write handlers that speak the real API's wire format, so clients are exercised end to end
    (official SDKs included) instead of being patched.
    """

    def __init__(self, handler: Handler):
        self.handler = handler
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _serve(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with outer._lock:
                    outer.requests.append(rec)
                reply = outer.handler(rec)
                if reply.delay_s:
                    import time

                    time.sleep(reply.delay_s)
                if reply.drop_connection:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"content-type": "application/json", **reply.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeAPI:
    """Base of a stateful fake API: a :class:`FakeServer` answering with ``self._handle`` that shuts down
    in milliseconds (``serve_forever`` polls every ``poll_interval`` s instead of 0.5 s). A context manager."""

    def __init__(self, poll_interval: float = 0.02) -> None:
        self.server = FakeServer(self._handle)
        self.server.thread = threading.Thread(
            target=self.server.server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True
        )

    def _handle(self, rec: Recorded) -> Reply:
        raise NotImplementedError

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests


def services_required() -> bool:
    return os.environ.get("SPLANTS_REQUIRE_SERVICES", "") == "1"


def debian_program(program: str, package: str | None = None) -> str:
    """Path of a program from Debian's packages (chromium, faketime ...), installed by the test setup when
    missing and possible (as root, with apt-get); skips otherwise, or fails when
    ``SPLANTS_REQUIRE_SERVICES=1`` (CI), because CI and a new machine start without it."""
    import shutil
    import subprocess

    found = shutil.which(program)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package or program]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
        found = shutil.which(program)
    if not found:
        message = f"Debian's {package or program} is not installed and could not be installed"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    return found


def require_service(name: str, host: str = "127.0.0.1", port: int = 0) -> None:
    """Skip when a local service is not reachable, unless CI says it must be (then fail)."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        message = f"{name} is not reachable on {host}:{port} ({exc})"
        if services_required():
            pytest.fail(message + " and SPLANTS_REQUIRE_SERVICES=1")
        pytest.skip(message)


def materialize_campaign(
    instance, resources, campaign_id: str = DEMO_CAMPAIGN, selection=None, raise_on_error=True
):
    """Run the campaign job's assets (or ``selection``) for one partition, as the sensor would."""
    import dagster as dg

    from splants_dagster.definitions import defs

    if campaign_id not in instance.get_dynamic_partitions("campaigns"):
        instance.add_dynamic_partitions("campaigns", [campaign_id])
    assets = [a for a in defs().assets if isinstance(a, dg.AssetsDefinition)]
    campaign_assets = [
        a
        for a in assets
        if a.partitions_def is not None and getattr(a.partitions_def, "name", None) == "campaigns"
    ]
    return dg.materialize(
        campaign_assets,
        selection=selection,
        partition_key=campaign_id,
        instance=instance,
        resources=resources,
        raise_on_error=raise_on_error,
    )
