"""What every provider adapter is, and the small helpers they share to read payloads.

An adapter is pure: the raw request, the signing secret and the time in; normalised events or a
typed error out. It verifies the signature on the raw bytes BEFORE it parses anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from webhook_processor.errors import InvalidPayload, SignatureInvalid
from webhook_processor.model import Outcome, PaymentEvent, Reply, WebhookRequest

#: How far a signed timestamp may be from our clock, either way (Stripe and Svix use 5 minutes).
DEFAULT_TOLERANCE_SECONDS = 300


class Provider(Protocol):
    """A payment provider's webhook scheme.

    Adapters subclass this protocol explicitly to inherit its defaults (``event_id_prefix``,
    ``reply``); the registry in :mod:`webhook_processor.providers` is the only place that names
    them, so everything else (the CLI, the Lambda program, the tests) derives from it.
    """

    #: The path segment in ``/webhooks/{name}`` and the suffix of ``WEBHOOK_SECRET_{NAME}``.
    name: str
    #: How the provider's event ids start; ``send`` makes new ones as prefix + random hex.
    event_id_prefix: str = "evt_"

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        """Verify ``request`` and return its events (empty: authentic but not a payment event)."""
        ...

    def sign(self, body: bytes, secret: str, now: datetime, message_id: str) -> Signed:
        """``body`` as the provider would deliver it, signed: used by ``send`` and tests.

        Providers that sign in headers return the body unchanged; providers that sign inside
        the body (Adyen's per-item HMAC) return the body with its signatures filled in.
        """
        ...

    def sample(self, spec: Sample) -> bytes:
        """A realistic, unsigned event body with the given values, as the provider sends it."""
        ...

    def new_secret(self) -> str:
        """A fresh signing secret in the provider's format, for local development."""
        ...

    def reply(self, outcome: Outcome) -> Reply | None:
        """What the provider must hear on success; None for the processor's JSON answer."""
        return None


@dataclass(frozen=True, slots=True)
class Signed:
    """A body and the headers that authenticate it."""

    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Sample:
    """What ``webhook-processor send`` lets a person choose about a sample event."""

    event_id: str
    amount: Decimal
    currency: str
    status: str
    created: datetime


def check_timestamp(seconds: int, now: datetime, tolerance: int) -> None:
    """Reject a signed timestamp outside ``tolerance`` seconds of ``now``: a replay window."""
    skew = now.timestamp() - seconds
    if skew > tolerance:
        raise SignatureInvalid(
            f"signature timestamp is {int(skew)} s old; the limit is {tolerance} s (replayed?)"
        )
    if -skew > tolerance:
        raise SignatureInvalid(
            f"signature timestamp is {int(-skew)} s in the future; the limit is {tolerance} s"
        )


def parse_unix_seconds(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise SignatureInvalid(f"{what} must be whole Unix seconds, got {text[:32]!r}")
    return int(text)


def require_header(request: WebhookRequest, name: str) -> str:
    value = request.header(name)
    if not value:
        raise SignatureInvalid(f"missing {name} header")
    return value


def require_str(obj: Mapping[str, Any], key: str, where: str = "body") -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        found = "missing" if value is None else f"not a non-empty string ({value!r})"
        raise InvalidPayload(f"{where}.{key} is {found}")
    return value


def optional_str(obj: Mapping[str, Any], key: str, where: str = "body") -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{where}.{key} must be a string or null, got {value!r}")
    return value


def require_object(obj: Mapping[str, Any], key: str, where: str = "body") -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise InvalidPayload(f"{where}.{key} must be a JSON object")
    return value


def optional_object(obj: Mapping[str, Any], key: str, where: str = "body") -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidPayload(f"{where}.{key} must be a JSON object or null")
    return value


#: The last second a ``datetime`` can hold (9999-12-31T23:59:59Z).
MAX_UNIX_SECONDS = 253_402_300_799


def from_unix(seconds: object, where: str) -> datetime:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise InvalidPayload(f"{where} must be whole Unix seconds")
    if seconds > MAX_UNIX_SECONDS:
        raise InvalidPayload(f"{where} is {seconds}: after the year 9999")
    return datetime.fromtimestamp(seconds, UTC)
