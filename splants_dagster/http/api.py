"""One HTTP client per platform API, and the three kinds of failure its calls end in.

- :class:`Retryable`: the platform answered and did not act (429, 5xx, 408) or the request never left
  (connection refused); try again later, after ``retry_after`` seconds when the platform gave one.
- :class:`Permanent`: the platform refused the request (bad credentials, invalid content, retired API
  version); a person must fix something.
- :class:`OutcomeUnknown`: a state-changing request may have been processed (timeout or dropped
  connection after it was sent).

Every message goes through the client's :class:`~splants_dagster.http.redact.Redactor`, whose secrets
are also redacted from httpx's own log records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from splants_dagster.http.redact import Redactor, redact_in_http_logs
from splants_dagster.http.retry import retry_after_seconds

USER_AGENT = "splants-dagster/0.1 (+https://github.com/splants)"


class ApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class Retryable(ApiError):
    """Nothing was done; try again later (honouring ``retry_after`` seconds when the platform gave one)."""


class Permanent(ApiError):
    """The platform refused the request; retrying the same request will not help."""


class OutcomeUnknown(ApiError):
    """The request may or may not have been processed."""


def error_text(resp: httpx.Response) -> str:
    """The platform's own explanation of an error answer, short."""
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300].strip()
    if isinstance(data, dict):
        for key in ("detail", "message", "title", "error_description", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                code = data.get("code") or data.get("type") or data.get("errorType") or ""
                errors = data.get("errors")
                extra = ""
                if isinstance(errors, list) and errors:
                    first = errors[0]
                    if isinstance(first, dict):
                        extra = " (" + str(first.get("message") or first.get("detail") or first)[:200] + ")"
                return f"{value}{extra}" + (f" [{code}]" if code and code != "about:blank" else "")
    return str(data)[:300]


class ApiClient:
    """An httpx client for one API (base URL, credentials, timeouts) whose :meth:`request` raises the
    errors above. ``secrets``: the credentials in use, redacted from every message and HTTP log."""

    def __init__(
        self,
        platform: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout_s: float = 30.0,
        redact: Redactor | None = None,
        secrets: tuple[str | None, ...] = (),
    ):
        self.platform = platform
        self.redact = redact or Redactor()
        self.redact.add(*secrets)
        redact_in_http_logs(*secrets)
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            auth=auth,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> httpx.Response:
        """The raw answer to a GET (any status); transport errors are httpx's. For readers that judge
        statuses themselves (engagement metrics)."""
        return self.client.get(path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        creates: bool = False,
    ) -> httpx.Response:
        """``creates``: the request changes state remotely, so a timeout after sending is OutcomeUnknown."""
        where = f"{self.platform} {method} {path}"
        try:
            resp = self.client.request(method, path, json=json, params=params, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Retryable(
                self.redact(f"{where}: could not connect ({type(exc).__name__}: {exc})")
            ) from None
        except httpx.HTTPError as exc:
            message = self.redact(f"{where}: no answer after sending ({type(exc).__name__}: {exc})")
            if creates:
                raise OutcomeUnknown(message) from None
            raise Retryable(message) from None
        if resp.status_code in ok:
            return resp
        status = resp.status_code
        message = self.redact(f"{where} → HTTP {status}: {error_text(resp)}")
        if status == 429 or status == 408 or status >= 500:
            raise Retryable(message, status=status, retry_after=retry_after_seconds(resp.headers))
        raise Permanent(message, status=status)

    def create(
        self,
        path: str,
        *,
        json: Any = None,
        ok: tuple[int, ...] = (200, 201),
        id_at: tuple[str, ...] = ("id",),
    ) -> str:
        """POST that creates a remote object; returns its id, found in the JSON answer under the keys
        ``id_at``. An answer without it is OutcomeUnknown: the object may exist all the same."""
        resp = self.request("POST", path, json=json, ok=ok, creates=True)
        try:
            found: Any = resp.json()
            for key in id_at:
                found = found[key]
        except (ValueError, KeyError, TypeError) as exc:
            raise OutcomeUnknown(f"{self.platform} POST {path}: unexpected answer ({exc})") from None
        return str(found)
