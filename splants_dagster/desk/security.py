"""Who may use the desk, and CSRF: a signed session cookie with a per-session token.

On 127.0.0.1 (the default) the desk is the marketer's own machine and needs no login. Bound to any other
address it refuses to start without ``SPLANTS_DESK_PASSWORD`` (:func:`bind_problem`); with one, a login
form sets ``auth`` in the session. Every POST carries the session's CSRF token (hidden field
``csrf_token``, or the ``X-CSRF-Token`` header that htmx sends from ``hx-headers``) and gets 403 without it.
Sessions are signed with itsdangerous (the library Flask's sessions use) under a key made at start, so a
restart logs everyone out; nothing is stored server-side.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "splants_desk"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_AGE_S = 12 * 3600


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_problem(host: str, password: str | None) -> str | None:
    """Why the desk must not start on ``host`` (None: it may)."""
    if is_loopback(host) or (password and password.strip()):
        return None
    return (
        f"SPLANTS_DESK_HOST={host} is not a loopback address: set SPLANTS_DESK_PASSWORD so the desk asks for "
        "a password (or bind to 127.0.0.1)"
    )


@dataclass
class Sessions:
    """Signs and reads the session cookie: ``{"csrf": token, "auth": bool}``."""

    password: str | None = None
    secret: str = ""

    def __post_init__(self) -> None:
        self.secret = self.secret or secrets.token_urlsafe(32)
        self._signer = URLSafeTimedSerializer(self.secret, salt="splants-desk-session")

    @property
    def login_required(self) -> bool:
        return bool(self.password)

    def load(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=MAX_AGE_S)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("csrf"), str) else None

    def new(self) -> dict[str, Any]:
        return {"csrf": secrets.token_urlsafe(24), "auth": False}

    def dump(self, session: dict[str, Any]) -> str:
        return self._signer.dumps(session)

    def check_password(self, given: str) -> bool:
        return bool(self.password) and hmac.compare_digest(given.encode(), (self.password or "").encode())


def csrf_ok(session: dict[str, Any], header: str | None, field: str | None) -> bool:
    expected = str(session.get("csrf") or "")
    given = header or field or ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
