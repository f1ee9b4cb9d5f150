"""The one way secrets are kept out of text: error messages, stored errors, previews and the records of
the HTTP libraries' own loggers.

:class:`Redactor` replaces every configured secret (API keys, tokens, passwords, webhook URLs) with
:data:`REDACTED`; :func:`redact` is the one-shot form. httpx logs every request URL at INFO (and webhook
URLs are credentials), so one :class:`logging.Filter` is attached to the httpx/httpcore loggers when
this module is first imported (under the import lock, so once) and redacts through the same helper;
:func:`redact_in_http_logs` registers secrets with it. No logger's level is ever changed: sensors and
steps run in threads, and a level flipped by one would silence or unsilence another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_LEN = 4  # shorter values would redact ordinary words; no real credential is this short
HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


class Redactor:
    """Replaces every configured secret in text with :data:`REDACTED` (longest first, so a secret that
    contains another is replaced whole). Safe to share between threads: ``add`` swaps in a new tuple."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.add(*secrets)

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def add(self, *secrets: str | None) -> None:
        fresh = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN}
        if not fresh - set(self._secrets):
            return
        with self._lock:
            merged = set(self._secrets) | fresh
            self._secrets = tuple(sorted(merged, key=lambda s: (-len(s), s)))

    def __call__(self, text: Any) -> str:
        out = str(text)
        for secret in self._secrets:
            out = out.replace(secret, REDACTED)
        return out


def redact(text: Any, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret in ``secrets`` replaced by :data:`REDACTED`."""
    return Redactor(secrets)(text)


class _HttpLogRedaction(logging.Filter):
    """Rewrites a record of an HTTP library's logger when its message holds a registered secret."""

    def __init__(self) -> None:
        super().__init__()
        self.redact = Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redact.secrets:
            message = record.getMessage()
            cleaned = self.redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_HTTP_LOG_FILTER = _HttpLogRedaction()
for _name in HTTP_LOGGERS:  # logger filters do not apply to child loggers' records: name each one
    logging.getLogger(_name).addFilter(_HTTP_LOG_FILTER)


def redact_in_http_logs(*secrets: str | None) -> None:
    """From now on, records of the httpx/httpcore loggers show ``secrets`` as :data:`REDACTED`."""
    _HTTP_LOG_FILTER.redact.add(*secrets)
