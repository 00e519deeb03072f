"""What every provider adapter is, and the small helpers they share to read payloads.

An adapter is pure: the raw request, the signing secret and the time in; normalised events or a
typed error out. It verifies the signature on the raw bytes BEFORE it parses anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from webhook_processor.errors import (
    InvalidPayload,
    SecretUnavailable,
    SignatureInvalid,
    SignatureMismatch,
)
from webhook_processor.limits import MAX_ACTIVE_SECRETS
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
    #: Whether one delivery may carry several events (Adyen's batches); ``send --items``.
    batches: bool = False

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        """Verify ``request`` and return its events (empty: authentic but not a payment event).

        A MAC that does not match ``secret`` raises :class:`SignatureMismatch`, so that
        :func:`parse_signed` can try the provider's next active secret; every other signature
        failure raises :class:`SignatureInvalid`.
        """
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

    def check_secret(self, secret: str) -> None:
        """Raise :class:`SecretUnavailable` if ``secret`` cannot be a key of this provider's
        scheme (not hex for Adyen's, not base64 for Standard Webhooks'): a configuration
        error answered 503, so the provider retries once it is fixed, never a 401 that blames
        the sender. Any non-empty text can be an HMAC key, hence the default."""
        return

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
    #: Events in the one delivery, for providers that batch (``batches``).
    items: int = 1
    #: The transaction the event belongs to (a refund of an earlier payment, say); None: a new
    #: transaction, named after the event.
    transaction_id: str | None = None
    #: The refund or capture the event reports (so several events can report one refund);
    #: None: one named after the event.
    movement_id: str | None = None
    #: For a payment event: what was captured, where less than ``amount`` (a partial capture).
    captured: Decimal | None = None
    #: For a provider's running total of refunds (Stripe's ``refunded_total`` sample, a
    #: ``charge.refunded``): the total; ``amount`` is then the payment's.
    refunded_total: Decimal | None = None


def parse_signed(
    provider: Provider, request: WebhookRequest, secrets: Sequence[str], now: datetime
) -> list[PaymentEvent]:
    """Parse ``request`` with the first of the provider's active ``secrets`` that verifies it.

    Secret rotation, for every provider alike: while a secret is rolled, both the old and the
    new one are active and a delivery signed with either passes. Only a MAC mismatch moves on
    to the next secret (a missing header or a stale timestamp is the same under any secret),
    and the number of secrets is bounded, so a request costs at most
    :data:`~webhook_processor.limits.MAX_ACTIVE_SECRETS` verifications.
    """
    if not secrets:
        raise SecretUnavailable(f"no active secret for {provider.name}")
    if len(secrets) > MAX_ACTIVE_SECRETS:
        raise SecretUnavailable(
            f"{provider.name} has {len(secrets)} active secrets; at most {MAX_ACTIVE_SECRETS}"
        )
    for position, secret in enumerate(secrets, 1):
        if not isinstance(secret, str) or not secret.strip():
            raise SecretUnavailable(f"active secret {position} of {provider.name} is not text")
        try:
            secret.encode("utf-8")  # every scheme keys its HMAC with the secret's UTF-8 bytes
        except UnicodeEncodeError:
            raise SecretUnavailable(
                f"active secret {position} of {provider.name} is not Unicode text "
                "(a lone surrogate)"
            ) from None
        try:
            provider.check_secret(secret)
        except SecretUnavailable as unusable:
            raise SecretUnavailable(
                f"active secret {position} of {provider.name}: {unusable.detail}"
            ) from None
    mismatches: list[SignatureMismatch] = []
    for secret in secrets:
        try:
            return provider.parse(request, secret, now)
        except SignatureMismatch as mismatch:
            mismatches.append(mismatch)
    if len(mismatches) == 1:
        raise mismatches[0]
    raise SignatureMismatch(f"{mismatches[0].detail} (under any of {len(secrets)} active secrets)")


def check_timestamp(seconds: int, now: datetime, tolerance: int) -> None:
    """Reject a signed timestamp outside ``tolerance`` seconds of ``now``: a replay window."""
    # Clamped first: the headers' int() reads thousands of digits, which no float can hold.
    skew = now.timestamp() - max(-MAX_UNIX_SECONDS, min(seconds, MAX_UNIX_SECONDS))
    if skew > tolerance:
        raise SignatureInvalid(
            f"signature timestamp is {int(skew)} s old; the limit is {tolerance} s (replayed?)"
        )
    if -skew > tolerance:
        raise SignatureInvalid(
            f"signature timestamp is {int(-skew)} s in the future; the limit is {tolerance} s"
        )


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


def from_rfc3339(value: object, where: str, default: datetime) -> datetime:
    """An RFC 3339 / ISO 8601 timestamp (``2020-02-06T21:27:34.308Z``), or ``default`` if absent."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidPayload(f"{where} must be an RFC 3339 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise InvalidPayload(f"{where} {value[:40]!r} has no UTC offset")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # Overflow: a year 9999 moved past UTC's range
        raise InvalidPayload(f"{where} {value[:40]!r} is not an RFC 3339 timestamp") from exc


def from_unix(seconds: object, where: str) -> datetime:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise InvalidPayload(f"{where} must be whole Unix seconds")
    if seconds > MAX_UNIX_SECONDS:
        raise InvalidPayload(f"{where} is {seconds}: after the year 9999")
    return datetime.fromtimestamp(seconds, UTC)
