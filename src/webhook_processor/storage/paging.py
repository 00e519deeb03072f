"""Pages of the inspector's listings: filters, keyset cursors, per-sink delivery states.

Every listing is read in the order of an index and continues after the last row it returned
(keyset pagination), so a page costs the same at the millionth event as at the first: no
``OFFSET``, no count of what matches. A cursor is the sort key of that last row, tagged with the
listing it belongs to and encoded as opaque URL-safe text; the stores decode it and refuse one
they did not make with :class:`~webhook_processor.errors.InvalidParameter`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from webhook_processor.errors import InvalidParameter

T = TypeVar("T")

#: The longest cursor accepted: sort keys are ids of at most 255 characters and timestamps.
MAX_CURSOR_CHARS: Final = 2048


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which stored events to list. Empty: all of them, newest first.

    ``keys`` and ``transaction_id`` are a search: the events with those keys, then the events
    of that transaction (newest by provider time first); the other fields narrow any listing.
    """

    provider: str | None = None
    #: "pending", "delivered" or "dead": an event is pending while any sink has yet to take
    #: it, dead while any sink gave up on it.
    delivery: str | None = None
    keys: tuple[str, ...] = ()
    transaction_id: str | None = None

    @property
    def is_search(self) -> bool:
        return bool(self.keys) or self.transaction_id is not None


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """Which transactions to list; ``transaction_id`` finds one by id (of any provider)."""

    provider: str | None = None
    status: str | None = None
    transaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, and the cursor of the next (None: this is the last)."""

    items: list[T]
    next: str | None


@dataclass(frozen=True, slots=True)
class SinkDelivery:
    """Where one event stands with one sink that has not (yet) taken it."""

    sink: str
    #: "pending" or "dead" (:class:`~webhook_processor.storage.base.Delivery`); on AWS, the
    #: stream's or the publication mark's (``stream``, ``handed_off``, ``redriving``,
    #: ``redriven``).
    state: str
    #: None where the platform does not count them (Lambda retries a stream batch, not an event).
    attempts: int | None
    last_error: str | None


def encode_cursor(kind: str, values: Sequence[str]) -> str:
    """The cursor after a row whose sort key is ``values``, in the listing ``kind``."""
    text = json.dumps([kind, *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, size: int) -> list[str]:
    """The sort key a cursor of listing ``kind`` holds (``size`` values); InvalidParameter
    for anything this server did not make."""
    problem = f"cursor is not one this listing gave ({kind} pages)"
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidParameter(f"cursor is {len(cursor)} characters; the limit is 2048")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw.decode())
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidParameter(problem) from None
    if (
        not isinstance(values, list)
        or len(values) != size + 1
        or values[0] != kind
        or not all(isinstance(value, str) and _encodable(value) for value in values)
    ):
        raise InvalidParameter(problem)
    return values[1:]


def _encodable(value: str) -> bool:
    """Whether ``value`` is text SQLite can take: JSON may spell lone surrogates (``\\ud800``)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
