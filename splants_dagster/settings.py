"""Every ``SPLANTS_*`` environment setting in one table: its type, default and meaning, and one parser each.

Settings are read when something needs them, but a bad one must not surface as a traceback from deep inside
a run: :func:`check` validates them all at once (the ``splants`` command and the Dagster definitions call it
at start) and raises :class:`SettingsError` with one line per problem, naming the variable, the value and
what is expected. Readers call :func:`value` for the typed value, so each variable has exactly one parser.
Secret values (keys, webhook URLs, which often carry tokens) are never repeated in a message.

No Dagster imports: the CLI and the definitions both use this module. The table is documented in
docs/settings.md (a test keeps the two in step).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from splants_dagster.llm.pricing import DEFAULT_STRATEGY, STRATEGIES

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """One or more settings are invalid; ``problems`` holds one line per variable."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


Parser = Callable[[str], Any]


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Parser  # raises ValueError with what is expected (the caller adds the name and value)
    default: Any
    meaning: str
    secret: bool = False
    shown_default: str | None = None  # for the docs, when the default is computed elsewhere

    def default_text(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None:
            return "unset"
        if isinstance(self.default, bool):
            return "1" if self.default else "0"
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)


# ------------------------------------------------------------------------------------------ parsers


def number(what: str, *, minimum: float = 0.0, above: bool = False) -> Parser:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            raise ValueError(f"must be {what}")
        return value

    return parse


def integer(what: str, low: int, high: int) -> Parser:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if not low <= value <= high:
            raise ValueError(f"must be {what}")
        return value

    return parse


def choice(*options: str, aliases: Mapping[str, str] | None = None) -> Parser:
    def parse(raw: str) -> str:
        value = raw.lower()
        value = (aliases or {}).get(value, value)
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def flag(raw: str) -> bool:
    value = raw.lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError("must be 1 or 0 (also true/false, yes/no, on/off)")


def text(raw: str) -> str:
    return raw


def directory(raw: str) -> str:
    """A folder, or a path where one can be created: not an existing file (it failed deep inside a run)."""
    path = os.path.expanduser(raw)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError("must be a directory (it names a file)")
    return raw


def url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s):// URL")
    return raw


def urls(raw: str) -> list[str]:
    found = [u.strip() for u in raw.split(",") if u.strip()]
    for one in found:
        url(one)
    return found


def source_allow(raw: str) -> tuple:
    from splants_dagster.research.fetch import parse_allow  # its own parser: one grammar

    try:
        return parse_allow(raw)
    except ValueError as exc:
        detail = str(exc).removeprefix("SPLANTS_SOURCE_ALLOW: ")
        raise ValueError(f"must be comma-separated host names, addresses or CIDRs: {detail}") from None


def fraction(what: str) -> Parser:
    def parse(raw: str) -> float:
        value = number(what)(raw)
        if value > 1:
            raise ValueError(f"must be {what}")
        return value

    return parse


def utm_mediums(raw: str) -> dict[str, str]:
    from splants_dagster.publishing.utm import parse_medium_map  # its own parser: one grammar

    return parse_medium_map(raw)


def iso_date(raw: str) -> dt.date:
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be a date YYYY-MM-DD between 2000 and 2100")
    return value


# ------------------------------------------------------------------------------------------ the table

KB = 1024
MB = 1024 * KB

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SPLANTS_DATA_DIR",
        directory,
        None,
        "where briefs, brand.yaml, the warehouse and outputs live",
        shown_default="data/ in the repository",
    ),
    # LLM
    Setting(
        "SPLANTS_LLM_PROVIDER",
        choice("auto", "offline", "openai", "anthropic", "openai_compatible"),
        "auto",
        "which configured provider writes (auto: the first configured; the others are fallbacks)",
    ),
    Setting("SPLANTS_LLM_BASE_URL", url, None, "an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1"),
    Setting("SPLANTS_LLM_MODEL", text, None, "the compatible server's model"),
    Setting(
        "SPLANTS_LLM_API_KEY", text, None, "the compatible server's API key, if it needs one", secret=True
    ),
    Setting(
        "SPLANTS_LLM_STRATEGY",
        choice(*STRATEGIES),
        DEFAULT_STRATEGY,
        "the model tier when neither the budget nor the asset chooses one",
    ),
    Setting(
        "SPLANTS_LLM_CONCURRENCY",
        integer("a whole number from 1 to 64", 1, 64),
        4,
        "LLM calls in flight per step",
    ),
    Setting(
        "SPLANTS_LLM_TIMEOUT_S",
        number("a number of seconds above 0, e.g. 120", above=True),
        120.0,
        "per-request timeout (connecting gives up after at most 10 s)",
    ),
    Setting(
        "SPLANTS_LLM_STEP_DEADLINE_S",
        number("a number of seconds (0: no deadline), e.g. 900"),
        900.0,
        "all the LLM work of one step (research, content, QA) must finish within this; 0 turns it off",
    ),
    Setting(
        "SPLANTS_LLM_PROGRESS_S",
        number("a number of seconds above 0, e.g. 15", above=True),
        15.0,
        "while LLM calls are outstanding, a progress line in the run log this often",
    ),
    Setting("SPLANTS_LLM_FORCE_REFRESH", flag, False, "1: ignore cached replies and generate afresh"),
    Setting(
        "SPLANTS_LLM_BATCH",
        flag,
        True,
        "route non-urgent economy generation through batch APIs (budget.yaml batch.enabled)",
    ),
    # costs
    Setting(
        "SPLANTS_MONTHLY_BUDGET_USD",
        number("a number of US dollars, e.g. 50 (0: unlimited)"),
        None,
        "monthly LLM budget in USD; unset: cost control off (unless budget.yaml sets one); 0: unlimited",
    ),
    Setting("SPLANTS_STRATEGY", choice(*STRATEGIES), None, "manual override of the budget's strategy"),
    # execution
    Setting(
        "SPLANTS_INSTANCE",
        choice("local", "production"),
        "local",
        "which deploy/ dagster.yaml a new DAGSTER_HOME gets (production: PostgreSQL)",
    ),
    Setting(
        "SPLANTS_EXECUTOR",
        choice("in_process", "multiprocess", "celery", aliases={"in-process": "in_process"}),
        "in_process",
        "how a run executes its steps",
    ),
    Setting(
        "SPLANTS_CELERY_BROKER",
        text,
        "pyamqp://guest@127.0.0.1:5672//",
        "Celery broker (executor celery)",
        secret=True,
    ),
    Setting("SPLANTS_CELERY_BACKEND", text, "rpc://", "Celery result backend (executor celery)", secret=True),
    Setting("SPLANTS_CELERY_QUEUE", text, "dagster", "Celery queue the workers listen on"),
    # QA
    Setting(
        "SPLANTS_QA_MAX_BYTES",
        integer(f"a whole number of bytes from 1 to {16 * MB}", 1, 16 * MB),
        256 * KB,
        "largest file `splants qa` accepts (the checks take ~4 s per 100 KB on one core)",
        shown_default="262144 (256 KB)",
    ),
    # research sources
    Setting(
        "SPLANTS_SOURCE_ALLOW",
        source_allow,
        None,
        "non-public hosts, addresses or CIDRs (each optionally :port) research may fetch, e.g. intranet pages",
    ),
    Setting(
        "SPLANTS_SOURCE_MAX_BYTES",
        integer("a whole number of bytes from 1 to 1000000000", 1, 1_000_000_000),
        5_000_000,
        "most bytes read from one research source",
    ),
    Setting(
        "SPLANTS_SOURCE_DEADLINE_S",
        number("a number of seconds above 0, e.g. 20", above=True),
        20.0,
        "the whole fetch of one research source, redirects included, must finish within this",
    ),
    # publishing
    Setting(
        "SPLANTS_BLOG_PUBLISHER", choice("auto", "wordpress", "hubspot", "outbox"), "auto", "blog publisher"
    ),
    Setting(
        "SPLANTS_EMAIL_PUBLISHER", choice("auto", "mailchimp", "hubspot", "outbox"), "auto", "email publisher"
    ),
    Setting(
        "SPLANTS_BOOST_PUBLISHER", choice("outbox", "platform"), "outbox", "where engagement re-promotions go"
    ),
    Setting(
        "SPLANTS_ALLOW_TEMPLATE_CONTENT",
        flag,
        False,
        "1: pieces from the offline template writer may be published too (see docs/publishing.md)",
    ),
    Setting(
        "SPLANTS_WEBHOOK_URLS", urls, None, "comma-separated endpoints told about publications", secret=True
    ),
    Setting("SPLANTS_WEBHOOK_SECRET", text, None, "HMAC-SHA256 key signing those webhooks", secret=True),
    # engagement and alerts
    Setting(
        "SPLANTS_ALERT_WEBHOOK_URL", url, None, "alerts (budget, engagement) are posted here", secret=True
    ),
    Setting("SPLANTS_ENGAGEMENT_SIMULATOR", flag, True, "0: no simulated demo engagement history"),
    Setting(
        "SPLANTS_SIMULATE_ENGAGEMENT",
        choice("auto", "on", "off"),
        "auto",
        "auto: simulate demo engagement only on a fresh install (no real engagement, demo history never "
        "cleared); on: always; off: never (docs/engagement.md)",
    ),
    Setting(
        "SPLANTS_ENGAGEMENT_SEED",
        integer("a whole number from 0 to 2**32-1", 0, 2**32 - 1),
        20261207,
        "simulator seed",
    ),
    Setting(
        "SPLANTS_ENGAGEMENT_SIM_START", iso_date, dt.date(2025, 1, 1), "no simulated events before this date"
    ),
    Setting(
        "SPLANTS_ENGAGEMENT_HISTORY_DAYS",
        integer("a whole number of days from 1 to 3650", 1, 3650),
        90,
        "days of history the bootstrap sensor backfills",
    ),
    # engagement and conversion files
    Setting(
        "SPLANTS_DATE_ORDER",
        choice(
            "auto",
            "day-first",
            "month-first",
            aliases={
                "day_first": "day-first",
                "dmy": "day-first",
                "month_first": "month-first",
                "mdy": "month-first",
            },
        ),
        "auto",
        "how imported files read numeric dates such as 01/02/2024: auto (per file: a value readable only one "
        "way decides; else day first, month first with AM/PM times), day-first or month-first for every file "
        "(docs/engagement.md)",
    ),
    # ML
    Setting(
        "SPLANTS_ML_MIN_ROWS",
        integer("a whole number from 1 to 10000000", 1, 10_000_000),
        100,
        "posts with a final outcome needed before a model is trained",
    ),
    Setting("SPLANTS_ML_CANDIDATES", choice("full", "small"), "full", "model candidate grid"),
    Setting(
        "SPLANTS_ML_RETRAIN_NEW_POSTS",
        integer("a whole number from 1 to 10000000", 1, 10_000_000),
        100,
        "new posts with a final outcome that trigger a retrain",
    ),
    # attribution (docs/attribution.md)
    Setting("SPLANTS_UTM_TAGGING", flag, True, "0: publish links to the landing page without UTM tags"),
    Setting(
        "SPLANTS_UTM_MEDIUM",
        utm_mediums,
        None,
        "utm_medium per platform, e.g. twitter=organic,email=newsletter (default: social/email/blog, paid for ads)",
    ),
    Setting(
        "SPLANTS_GOAL_OFF_PACE_MARGIN",
        fraction("a fraction from 0 to 1, e.g. 0.2"),
        0.2,
        "from the window's halfway point, a campaign whose goal pace is below 1 - this margin is alerted once",
    ),
    # the desk (docs/desk.md)
    Setting(
        "SPLANTS_DESK_HOST",
        text,
        "127.0.0.1",
        "address `splants desk` listens on (off loopback: needs a password)",
    ),
    Setting(
        "SPLANTS_DESK_PORT",
        integer("a port number from 1 to 65535", 1, 65535),
        3001,
        "port of `splants desk`",
    ),
    Setting(
        "SPLANTS_DESK_PASSWORD", text, None, "the desk's login password (required off 127.0.0.1)", secret=True
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def _problem(setting: Setting, raw: str, why: str) -> str:
    shown = "(hidden)" if setting.secret else repr(raw if len(raw) <= 60 else raw[:57] + "...")
    return f"{setting.name}={shown}: {why}"


def value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The typed value of ``name`` (its default when unset or blank); :class:`SettingsError` if invalid."""
    setting = BY_NAME[name]
    env = os.environ if environ is None else environ
    raw = env.get(name, "").strip()
    if not raw:
        return setting.default
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise SettingsError([_problem(setting, raw, str(exc))]) from None


def is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(name, "").strip())


def check(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting's typed value; :class:`SettingsError` listing every invalid one (one line each)."""
    found: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        try:
            found[setting.name] = value(setting.name, environ)
        except SettingsError as exc:
            problems += exc.problems
    if problems:
        raise SettingsError(problems)
    return found
