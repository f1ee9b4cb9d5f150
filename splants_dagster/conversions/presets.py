"""Column-mapping presets for conversion exports dropped in ``inbox/conversions/`` or given to
``splants conversions import FILE --preset P``.

A preset names, for each of our fields, the export's columns that may hold it (first present wins, names
matched without regard to case), and a ``finish`` hook for what a column table cannot say (Shopify's
line-item rows, UTM tags inside a URL or a note). :mod:`splants_dagster.conversions.files` parses and
checks the values and quarantines bad rows. ``docs/attribution.md`` and ``splants conversions presets``
show these tables.

Where each export keeps the UTM tags (how a conversion is tied to a piece):

- ``shopify_orders``: Shopify's orders CSV export (Orders → Export) has **no UTM or landing-page column**
  (one row per line item; the order's fields only on its first row). The tags are recovered from a
  ``Landing Site`` / ``landing_site`` column (the order's landing URL, which the Admin API and several
  export apps add) or from ``Note Attributes`` lines such as ``utm_source: twitter`` (what a theme or app
  that stores the UTM tags as cart attributes writes). An order with neither stays unattributed.
- ``woocommerce_orders``: WooCommerce 8.5+ stores order attribution as order meta
  (``_wc_order_attribution_utm_source``/``_medium``/``_campaign``/``_content``/``_term`` and
  ``_wc_order_attribution_session_entry``, the landing URL); order exports that include meta name the
  columns after the keys, with or without a ``meta:`` prefix. The ``Origin`` column ("Source: Twitter")
  is kept as a note only: it names a channel, not a campaign or piece.
- ``stripe_payments``: the Dashboard's payments export (``unified_payments.csv``) writes each metadata
  key as a ``<key> (metadata)`` column; tags stored on the Checkout Session / PaymentIntent as
  ``utm_*`` metadata arrive as ``utm_campaign (metadata)`` and so on.
- ``ga4_landing_pages``: a GA4 report or exploration exported as CSV (the ``#`` comment lines at the
  top are skipped; their start/end date is used when the report has no ``Date`` column), with
  ``Landing page + query string`` and the session source / medium / campaign / manual ad content
  dimensions; rows are aggregates (key events, purchases and revenue per landing page and source).
- ``generic``: one row per conversion in our own column names (see :data:`GENERIC`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Record = dict[str, Any]
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
FIELDS = (
    "order_id",
    "occurred_at",
    "conversion_type",
    "quantity",
    "revenue",
    "currency",
    "status",
    "landing_url",
    *UTM_FIELDS,
    "note",
)


class SkipRecord(Exception):
    """A record that is not a conversion by design (a Shopify line-item row, a GA4 total or a zero
    row): counted as skipped, neither loaded nor quarantined."""


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    # our field -> the export's columns that may hold it, in order of preference
    columns: dict[str, tuple[str, ...]]
    # fields that must have a column in the file
    required: tuple[str, ...]
    # columns whose presence identifies the export when no preset is named
    signature: tuple[str, ...]
    conversion_type: str = "order"
    finish: Callable[[dict[str, Any], Record], None] | None = None
    # values of ``status`` that are not (or no longer) a conversion: loaded with counted = false
    not_counted: frozenset[str] = field(default_factory=frozenset)

    def resolve(self, header: Iterable[str]) -> dict[str, str]:
        """Our field -> the header's column that holds it, for the columns the file has."""
        lower = {h.strip().lower(): h for h in header}
        found: dict[str, str] = {}
        for ours, theirs in self.columns.items():
            for name in theirs:
                if name.lower() in lower:
                    found[ours] = lower[name.lower()]
                    break
        if "purchases" in found:  # GA4: a report with purchases counts them, not all key events
            found["quantity"] = found.pop("purchases")
        return found

    def missing(self, header: Iterable[str]) -> list[str]:
        found = self.resolve(header)
        return [f"{f} ({' or '.join(self.columns[f][:3])})" for f in self.required if f not in found]


def utm_from_url(url: str | None) -> dict[str, str]:
    """The ``utm_*`` parameters of a URL (or a path with a query, as GA4 and Shopify write it)."""
    if not url:
        return {}
    try:
        query = urlsplit(url.strip()).query
    except ValueError:
        return {}
    return {k.lower(): v.strip() for k, v in parse_qsl(query) if k.lower() in UTM_FIELDS and v.strip()}


NOTE_LINE = re.compile(r"(utm_(?:source|medium|campaign|content|term))\s*[:=]\s*([^\s,;&]+)", re.IGNORECASE)


def utm_from_note(note: str | None) -> dict[str, str]:
    """``utm_source: twitter`` / ``utm_campaign=spring`` lines of a note (Shopify ``Note Attributes``)."""
    return {k.lower(): v for k, v in NOTE_LINE.findall(note or "")}


def fill_utm(fields: dict[str, Any], *found: dict[str, str]) -> None:
    """Each missing UTM field from the first source that has it (explicit columns win over a URL)."""
    for tags in found:
        for key, value in tags.items():
            if not fields.get(key):
                fields[key] = value


# --------------------------------------------------------------------------------------------- generic

GENERIC: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id", "conversion_id", "transaction_id", "id", "order"),
    "occurred_at": ("occurred_at", "date", "timestamp", "time", "created_at", "converted_at"),
    "conversion_type": ("conversion_type", "type", "event"),
    "quantity": ("quantity", "count", "conversions"),
    "revenue": ("revenue", "amount", "value", "total"),
    "currency": ("currency",),
    "status": ("status",),
    "landing_url": ("landing_url", "landing_page", "url"),
    **{f: (f,) for f in UTM_FIELDS},
    "note": ("note",),
}


def _generic(fields: dict[str, Any], record: Record) -> None:
    fill_utm(fields, utm_from_url(fields.get("landing_url")))


# --------------------------------------------------------------------------------------------- shopify

SHOPIFY_NOT_COUNTED = frozenset({"pending", "refunded", "voided", "expired"})


def _shopify(fields: dict[str, Any], record: Record) -> None:
    # line-item rows after an order's first row repeat its Name and leave the order fields empty
    if not (fields.get("status") or fields.get("revenue") or fields.get("occurred_at")):
        raise SkipRecord("line item of an order already read")
    if not fields.get("occurred_at"):
        fields["occurred_at"] = _value(record, "Created at")
    if _value(record, "Cancelled at"):
        fields["status"] = "cancelled"
    tags = utm_from_note(fields.get("note"))
    # only the UTM lines of Note Attributes are kept: the other attributes may be a customer's own words
    fields["note"] = "; ".join(f"{k}: {v}" for k, v in tags.items()) or None
    fill_utm(fields, utm_from_url(fields.get("landing_url")), tags)


# ----------------------------------------------------------------------------------------- woocommerce

WOO_META = "_wc_order_attribution_"
WOO_NOT_COUNTED = frozenset(
    {"cancelled", "refunded", "failed", "pending", "pending payment", "draft", "checkout-draft", "trash"}
)


def _woo_columns(ours: str, key: str) -> tuple[str, ...]:
    return (f"{WOO_META}{key}", f"meta:{WOO_META}{key}", f"meta: {WOO_META}{key}", ours)


def _woocommerce(fields: dict[str, Any], record: Record) -> None:
    status = str(fields.get("status") or "").strip().lower().removeprefix("wc-")
    fields["status"] = status or None
    fill_utm(fields, utm_from_url(fields.get("landing_url")))


# -------------------------------------------------------------------------------------------- stripe

STRIPE_NOT_COUNTED = frozenset({"failed", "refunded", "canceled", "incomplete", "requires_payment_method"})


def _stripe(fields: dict[str, Any], record: Record) -> None:
    captured = str(_value(record, "Captured") or "").lower()
    if captured == "false" and (fields.get("status") or "").lower() == "paid":
        fields["status"] = "uncaptured"
    if fields.get("status"):
        fields["status"] = str(fields["status"]).strip().lower()
    fill_utm(fields, utm_from_url(fields.get("landing_url")))


# ---------------------------------------------------------------------------------------------- GA4

GA4_PURCHASES = ("Ecommerce purchases", "Transactions", "Purchases")
GA4_NOT_SET = {"(not set)", "(none)", "(direct)", "(organic)", "(referral)", "(not provided)"}


def _ga4(fields: dict[str, Any], record: Record) -> None:
    landing = str(fields.get("landing_url") or "").strip()
    if landing.lower() in ("grand total", "total", "totals"):
        raise SkipRecord("report total")
    for key in UTM_FIELDS:
        if str(fields.get(key) or "").strip().lower() in GA4_NOT_SET:
            fields[key] = None
    # purchases, when the report has them, are what is counted (see Preset.resolve): orders
    has_purchases = any(c.lower() in (k.strip().lower() for k in record) for c in GA4_PURCHASES)
    fields["conversion_type"] = "order" if has_purchases else "key_event"
    if str(fields.get("quantity") or "0").strip() in ("0", "0.0", "0.00", ""):
        raise SkipRecord("no conversions in the row")
    fill_utm(fields, utm_from_url(landing))
    # an aggregate has no order id: the row's dimensions name it, so a re-export replaces it
    # (the files module appends the row's date: the Date column's, else the report's end date)
    dims = [landing, *(fields.get(k) for k in UTM_FIELDS)]
    fields["order_id"] = "ga4:" + "|".join(str(d or "") for d in dims)


def _value(record: Record, column: str) -> Any:
    for key, value in record.items():
        if key.strip().lower() == column.lower():
            return value.strip() if isinstance(value, str) else value
    return None


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "generic",
            "one row per conversion, our column names",
            "order_id, occurred_at (or date), revenue, currency, status, conversion_type (order, signup, "
            "lead, key_event; default order), quantity (default 1), utm_* columns or a landing_url.",
            GENERIC,
            required=("occurred_at",),
            signature=("utm_campaign", "occurred_at"),
            finish=_generic,
            not_counted=SHOPIFY_NOT_COUNTED | WOO_NOT_COUNTED | STRIPE_NOT_COUNTED,
        ),
        Preset(
            "shopify_orders",
            "Shopify orders CSV export (Orders → Export)",
            "One row per line item; the order's fields only on its first row (later rows are skipped). "
            "No UTM column in Shopify's export: tags come from a Landing Site column (API / export apps) "
            "or utm_* lines in Note Attributes.",
            {
                "order_id": ("Name", "Id"),
                "occurred_at": ("Paid at", "Processed at"),
                "revenue": ("Total",),
                "currency": ("Currency",),
                "status": ("Financial Status",),
                "landing_url": ("Landing Site", "landing_site", "Landing Site URL"),
                "note": ("Note Attributes",),
                **{f: (f, f.replace("_", " ").title()) for f in UTM_FIELDS},
            },
            required=("order_id", "revenue", "status"),
            signature=("Name", "Financial Status", "Paid at", "Total"),
            finish=_shopify,
            not_counted=SHOPIFY_NOT_COUNTED | {"cancelled"},
        ),
        Preset(
            "woocommerce_orders",
            "WooCommerce orders export with order attribution meta",
            "Order Number, Order Date, Order Status, Order Total, Currency and the order attribution "
            "meta _wc_order_attribution_utm_* (with or without a meta: prefix) or "
            "_wc_order_attribution_session_entry (the landing URL).",
            {
                "order_id": ("Order Number", "Order #", "Order ID", "order_number", "order_id"),
                "occurred_at": ("Order Date", "Date", "Date Paid", "order_date"),
                "revenue": ("Order Total", "Total", "order_total", "Net sales"),
                "currency": ("Currency", "Order Currency", "order_currency"),
                "status": ("Order Status", "Status", "status"),
                "landing_url": _woo_columns("landing_url", "session_entry"),
                "note": ("Origin", "Attribution", _woo_columns("x", "origin")[0]),
                **{f: _woo_columns(f, f) for f in UTM_FIELDS},
            },
            required=("order_id", "occurred_at", "revenue"),
            signature=("Order Number", "Order Status", "Order Total"),
            finish=_woocommerce,
            not_counted=WOO_NOT_COUNTED,
        ),
        Preset(
            "stripe_payments",
            "Stripe Dashboard payments export (unified_payments.csv)",
            "id, Created (UTC), Amount, Currency, Status, Captured; metadata columns such as "
            "'utm_campaign (metadata)' carry the tags set on the Checkout Session / PaymentIntent.",
            {
                "order_id": ("id", "PaymentIntent ID"),
                "occurred_at": ("Created (UTC)", "Created date (UTC)", "Created"),
                "revenue": ("Amount", "Converted Amount"),
                "currency": ("Currency", "Converted Currency"),
                "status": ("Status",),
                "landing_url": ("landing_url (metadata)", "landing_page (metadata)"),
                **{f: (f"{f} (metadata)", f) for f in UTM_FIELDS},
            },
            required=("order_id", "occurred_at", "revenue", "status"),
            signature=("id", "Created (UTC)", "Amount", "Status"),
            finish=_stripe,
            not_counted=STRIPE_NOT_COUNTED | {"uncaptured"},
        ),
        Preset(
            "ga4_landing_pages",
            "GA4 landing-page / traffic-acquisition report exported as CSV",
            "Landing page + query string, Session source, Session medium, Session campaign, Session "
            "manual ad content, Date (optional: else the report's end date), Key events (or "
            "Conversions), Ecommerce purchases (or Transactions) and Purchase revenue (or Total revenue).",
            {
                "occurred_at": ("Date",),
                "landing_url": ("Landing page + query string", "Landing page"),
                "utm_source": ("Session source", "Session manual source", "First user source"),
                "utm_medium": ("Session medium", "Session manual medium"),
                "utm_campaign": ("Session campaign", "Session manual campaign name", "Session campaign name"),
                "utm_content": ("Session manual ad content", "Manual ad content"),
                "utm_term": ("Session manual term", "Manual term"),
                "quantity": ("Key events", "Conversions"),
                "purchases": GA4_PURCHASES,
                "revenue": ("Purchase revenue", "Total revenue"),
            },
            required=("landing_url",),
            signature=("Landing page + query string",),
            conversion_type="key_event",
            finish=_ga4,
        ),
    )
}


# the ``source`` a conversion row carries is the name of the preset it was imported with; a brief's
# ``conversion_source`` (the goal's system of record) is one of these
CONVERSION_SOURCES: tuple[str, ...] = tuple(PRESETS)


def detect_preset(header: Iterable[str]) -> str:
    """The preset whose signature columns the header has (``generic`` when none matches)."""
    lower = {h.strip().lower() for h in header}
    for preset in PRESETS.values():
        if preset.name != "generic" and all(c.lower() in lower for c in preset.signature):
            return preset.name
    return "generic"


def map_record(preset: Preset, columns: dict[str, str], record: Record) -> dict[str, Any]:
    """Our fields of one record (raw values), after the preset's hook. Raises :class:`SkipRecord`."""
    fields: dict[str, Any] = {}
    for ours, theirs in columns.items():
        value = record.get(theirs)
        if isinstance(value, str):
            value = value.strip()
        fields[ours] = value if value not in ("", None) else None
    fields.setdefault("conversion_type", None)
    if preset.finish is not None:
        preset.finish(fields, record)
    if not fields.get("conversion_type"):
        fields["conversion_type"] = preset.conversion_type
    return fields
