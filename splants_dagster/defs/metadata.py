"""Typed metadata values that accept what the warehouse and arithmetic actually return.

``dg.MetadataValue.float`` rejects an ``int`` (``sum([])`` is ``0``, not ``0.0``), a ``Decimal`` (a DuckDB
DECIMAL sum) and numpy integers; ``dg.MetadataValue.int`` rejects floats and numpy integers. A wrong type
fails the whole step after its work is done, so figures go through these helpers instead.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import dagster as dg


def as_float(value: Any, digits: int | None = None) -> dg.MetadataValue:
    """A float metadata value (rounded to ``digits`` if given); null for None or NaN."""
    if value is None:
        return dg.MetadataValue.null()
    number = float(value)
    if math.isnan(number):
        return dg.MetadataValue.null()
    return dg.MetadataValue.float(round(number, digits) if digits is not None else number)


def as_int(value: Any) -> dg.MetadataValue:
    """An int metadata value; null for None. A float must be whole (a fraction is a bug, not rounded away)."""
    if value is None:
        return dg.MetadataValue.null()
    if isinstance(value, Real) and not isinstance(value, int) and not float(value).is_integer():
        raise ValueError(f"int metadata value {value!r} is not a whole number")
    return dg.MetadataValue.int(int(value))
