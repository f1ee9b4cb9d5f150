"""One account per platform: its credentials as plain values and the one :class:`ApiClient` built from
them, used both to publish (``publishing/<platform>.py``) and to read engagement
(``engagement/apis.py``). Base URLs are overridable so tests point them at loopback servers speaking
the real wire format. Secrets are kept out of ``repr`` and registered with the client's redactor."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from splants_dagster.http.api import ApiClient
from splants_dagster.http.redact import Redactor

X_BASE_URL = "https://api.x.com"
LINKEDIN_BASE_URL = "https://api.linkedin.com"
LINKEDIN_VERSION = "202510"  # LinkedIn retires a version about a year after release
HUBSPOT_BASE_URL = "https://api.hubapi.com"
WORDPRESS_STATS_BASE_URL = "https://public-api.wordpress.com"
ORGANIZATION = "urn:li:organization:"


@dataclass(frozen=True)
class XAccount:
    """X API v2 with an OAuth 2.0 user-context bearer token."""

    access_token: str = field(repr=False)
    base_url: str = X_BASE_URL

    def api(self, timeout_s: float = 30.0, redact: Redactor | None = None) -> ApiClient:
        return ApiClient(
            "x",
            self.base_url,
            headers={"Authorization": f"Bearer {self.access_token}"},
            timeout_s=timeout_s,
            redact=redact,
            secrets=(self.access_token,),
        )


@dataclass(frozen=True)
class LinkedInAccount:
    """LinkedIn's versioned REST API (``LinkedIn-Version: YYYYMM``). ``author_urn`` posts;
    ``organization_urn`` (else the author, when it is an organization) reads share statistics."""

    access_token: str = field(repr=False)
    version: str = LINKEDIN_VERSION
    base_url: str = LINKEDIN_BASE_URL
    author_urn: str | None = None
    organization_urn: str | None = None

    @property
    def statistics_organization(self) -> str | None:
        for urn in (self.organization_urn, self.author_urn):
            if urn and urn.startswith(ORGANIZATION):
                return urn
        return None

    def api(self, timeout_s: float = 30.0, redact: Redactor | None = None) -> ApiClient:
        return ApiClient(
            "linkedin",
            self.base_url,
            headers={
                "Authorization": f"Bearer {self.access_token}",
                "LinkedIn-Version": self.version,
                "X-Restli-Protocol-Version": "2.0.0",
            },
            timeout_s=timeout_s,
            redact=redact,
            secrets=(self.access_token,),
        )


@dataclass(frozen=True)
class WordPressSite:
    """A WordPress site's REST API (``/wp-json/wp/v2``), with an application password when given."""

    url: str
    username: str | None = None
    app_password: str | None = field(default=None, repr=False)

    def api(self, timeout_s: float = 30.0, redact: Redactor | None = None) -> ApiClient:
        auth = (
            httpx.BasicAuth(self.username, self.app_password) if self.username and self.app_password else None
        )
        return ApiClient(
            "wordpress",
            self.url.rstrip("/") + "/wp-json/wp/v2",
            auth=auth,
            timeout_s=timeout_s,
            redact=redact,
            secrets=(self.app_password,),
        )


@dataclass(frozen=True)
class WordPressStats:
    """WordPress.com / Jetpack stats (views) for ``site`` (a site id or domain), OAuth bearer token."""

    site: str
    token: str = field(repr=False)
    base_url: str = WORDPRESS_STATS_BASE_URL

    def api(self, timeout_s: float = 30.0, redact: Redactor | None = None) -> ApiClient:
        return ApiClient(
            "wordpress",
            self.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout_s=timeout_s,
            redact=redact,
            secrets=(self.token,),
        )


def mailchimp_root(api_key: str, server_prefix: str | None = None) -> str:
    """``https://<dc>.api.mailchimp.com``: the data centre from ``server_prefix``, else from the key's
    suffix (``...-us21``)."""
    dc = server_prefix or (api_key.rsplit("-", 1)[-1] if "-" in api_key else "us1")
    return f"https://{dc}.api.mailchimp.com"


@dataclass(frozen=True)
class MailchimpAccount:
    """Mailchimp Marketing API 3.0: HTTP Basic auth with any user name and the API key."""

    api_key: str = field(repr=False)
    server_prefix: str | None = None
    base_url: str | None = None

    @property
    def root(self) -> str:
        return (self.base_url or mailchimp_root(self.api_key, self.server_prefix)).rstrip("/")

    def api(self, timeout_s: float = 30.0, redact: Redactor | None = None) -> ApiClient:
        return ApiClient(
            "mailchimp",
            self.root + "/3.0",
            auth=("splants", self.api_key),
            timeout_s=timeout_s,
            redact=redact,
            secrets=(self.api_key,),
        )


@dataclass(frozen=True)
class HubSpotAccount:
    """HubSpot with a private-app bearer token."""

    access_token: str = field(repr=False)
    base_url: str = HUBSPOT_BASE_URL

    def api(self, timeout_s: float = 30.0, redact: Redactor | None = None) -> ApiClient:
        return ApiClient(
            "hubspot",
            self.base_url,
            headers={"Authorization": f"Bearer {self.access_token}"},
            timeout_s=timeout_s,
            redact=redact,
            secrets=(self.access_token,),
        )
