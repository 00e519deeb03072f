"""Reading the inspector API's inputs: every bad one gets a 4xx naming what is wrong.

Query strings and JSON bodies are bounded before they are read; every parameter has one
reader that says what it accepts; unknown and repeated parameters are refused, not ignored, so a
misspelt filter never silently lists everything.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any, Final

from webhook_processor.errors import InvalidParameter, PayloadTooLarge, UnsupportedMediaType
from webhook_processor.limits import MAX_ID_LENGTH
from webhook_processor.storage.paging import MAX_CURSOR_CHARS

MAX_QUERY_BYTES: Final = 4096
#: The largest JSON body a POST of the inspector takes (a redrive of 100 keys fits).
MAX_BODY_BYTES: Final = 64 * 1024
MAX_PAGE: Final = 100
DEFAULT_PAGE: Final = 25
#: Keys are ``provider:event_id``; an event id is at most MAX_ID_LENGTH characters.
MAX_KEY_CHARS: Final = MAX_ID_LENGTH + 32
#: ASCII digits only: ``\d`` would take any script's digits (``١٢``).
_AMOUNT: Final = re.compile(r"[0-9]{1,15}(\.[0-9]{1,6})?")

Reader = Callable[[str, str], Any]


def query(raw: bytes, readers: Mapping[str, Reader]) -> dict[str, Any]:
    """The parameters of a query string, each read by its reader; an empty value is absent."""
    if len(raw) > MAX_QUERY_BYTES:
        raise InvalidParameter(f"query string is {len(raw)} bytes; the limit is {MAX_QUERY_BYTES}")
    try:
        text = raw.decode("ascii")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidParameter("query string is not URL-encoded UTF-8") from None
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name not in readers:
            known = ", ".join(sorted(readers)) or "none"
            raise InvalidParameter(f"unknown parameter {name[:50]!r}; this endpoint takes {known}")
        if name in seen:
            raise InvalidParameter(f"parameter {name!r} is given more than once")
        seen.add(name)
        if value:
            values[name] = readers[name](name, value)
    return values


def choice(options: Collection[str]) -> Reader:
    """A reader that takes one of ``options``."""

    def read(name: str, value: str) -> str:
        if value not in options:
            raise InvalidParameter(
                f"{name} {value[:50]!r} is not one of {', '.join(sorted(options))}"
            )
        return value

    return read


def text(limit: int) -> Reader:
    """A reader of printable text of at most ``limit`` characters (an id, a search)."""

    def read(name: str, value: str) -> str:
        if len(value) > limit:
            raise InvalidParameter(f"{name} is {len(value)} characters; the limit is {limit}")
        if not value.isprintable():
            raise InvalidParameter(f"{name} contains control characters")
        return value

    return read


#: Days the completeness view shows by default, and at most.
DEFAULT_DAYS: Final = 7
MAX_DAYS: Final = 31


def day_count(name: str, value: str) -> int:
    """A number of days, 1 to :data:`MAX_DAYS`."""
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise InvalidParameter(f"{name} must be a whole number of days from 1 to {MAX_DAYS}")
    return int(value)


def page_size(name: str, value: str) -> int:
    """``limit``: rows in one page."""
    if not re.fullmatch(r"[0-9]{1,3}", value) or not 1 <= int(value) <= MAX_PAGE:
        raise InvalidParameter(f"{name} must be a whole number from 1 to {MAX_PAGE}")
    return int(value)


#: ``cursor``: checked for size here, decoded by the store that made it.
cursor: Final = text(MAX_CURSOR_CHARS)


def json_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """A POST's body: a JSON object of at most MAX_BODY_BYTES."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {media_type or '(none)'!r} is not application/json"
        )
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidParameter("body is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidParameter(f"body must be a JSON object, got {type(value).__name__}")
    return value


def fields(body: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Refuse fields this endpoint does not take."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidParameter(
            f"unknown field {unknown[0][:50]!r}; this endpoint takes {', '.join(sorted(allowed))}"
        )


def string_field(body: Mapping[str, Any], name: str, read: Reader, *, required: bool) -> Any:
    """A string field of a JSON body, read as a query parameter would be."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise InvalidParameter(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"{name} must be a string, got {type(value).__name__}")
    return read(name, value)


def amount(name: str, value: str) -> Decimal:
    """An amount in major units, as a person types it: ``19.99``."""
    if not _AMOUNT.fullmatch(value):
        raise InvalidParameter(
            f"{name} must be a plain decimal amount like 19.99, got {value[:40]!r}"
        )
    return Decimal(value)


def currency(name: str, value: str) -> str:
    """An ISO 4217 code; whether the processor knows it is the pipeline's answer."""
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise InvalidParameter(f"{name} must be a three-letter ISO 4217 code, got {value[:40]!r}")
    return value.upper()
