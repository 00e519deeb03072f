"""The records every part of the processor speaks: the request in, the event out, and what the
event did to its transaction."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def utc_now() -> datetime:
    """The default clock: an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A delivery as it reached us: the body is the exact bytes the provider signed.

    Header names are lower-cased on construction so adapters look them up one way.
    """

    provider: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime
    method: str = "POST"
    #: The URL the request arrived on, as this edge saw it. No adapter verifies against it:
    #: behind a proxy it is not the URL the provider signed (Square's is configuration).
    url: str = ""

    @classmethod
    def build(
        cls,
        provider: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: bytes,
        received_at: datetime,
        *,
        method: str = "POST",
        url: str = "",
    ) -> WebhookRequest:
        """Build a request, lower-casing header names. Repeated headers are joined with commas,
        as a Lambda Function URL joins them (payload format 2.0), so that both wings read the
        same value and the adapters parse what a proxy's extra header makes of it."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        joined: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            joined[key] = f"{joined[key]},{value}" if key in joined else value
        return cls(
            provider=provider,
            headers=joined,
            body=body,
            received_at=received_at,
            method=method.upper(),
            url=url,
        )

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())


class Arrival(enum.StrEnum):
    """How a stored event reached the processor."""

    #: Delivered by the provider to the webhook endpoint.
    WEBHOOK = "webhook"
    #: Never delivered (or not yet): found in the provider's events API by ``reconcile``.
    RECONCILIATION = "reconciliation"


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """One provider event, normalised. ``(provider, event_id)`` identifies it."""

    provider: str
    event_id: str
    transaction_id: str
    #: The provider's own event type, e.g. ``payment_intent.succeeded``.
    event_type: str
    amount: Decimal
    #: ISO 4217 code, upper case.
    currency: str
    #: Normalised payment status: see :class:`PaymentStatus`.
    status: str
    customer_id: str | None
    payment_method: str | None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=utc_now)
    received_at: datetime = field(default_factory=utc_now)
    #: The provider's own ordering of the object's versions, where it has one (Square's
    #: ``version``): it breaks ties between events of one provider time.
    sequence: int | None = None
    #: For an event that reports one refund or capture, the provider's id of it (Stripe's
    #: ``re_...``, Adyen's modification ``pspReference``, Square's refund id): every report of
    #: one id is one record, counted once. None: a refund event is its own refund.
    movement_id: str | None = None
    #: The provider's running total of the transaction's live refunds as of this event, where
    #: the event carries one (Stripe's charge ``amount_refunded``, Square's payment
    #: ``refunded_money``).
    refunded_total: Decimal | None = None
    #: What a ``succeeded`` event says has been captured so far, where it differs from
    #: ``amount`` (Stripe's ``amount_received`` and ``amount_captured``: a partial capture).
    captured: Decimal | None = None
    #: How the event reached the processor: a webhook, or a reconciliation that found it in
    #: the provider's events API (:class:`Arrival`).
    arrival: str = Arrival.WEBHOOK
    #: What storing this event did to its transaction; set by the store, None before. Not part
    #: of the event's identity: the same event compares equal before and after.
    transaction: TransactionUpdate | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """The idempotency key: one stored record per key, ever."""
        return f"{self.provider}:{self.event_id}"


class PaymentStatus(enum.StrEnum):
    """The statuses every provider's vocabulary is normalised to (the README has the table).

    A refund event's amount is the amount of that one refund; a refund has a life cycle of its
    own (``refund_pending``, ``refunded``, then ``refund_failed`` or ``refund_canceled``), so
    refunds can be added up per transaction without counting a failed one. A dispute has two
    ways out, so they have their own statuses: ``dispute_won`` (the money stays with the
    merchant) and ``dispute_lost`` (it went back to the cardholder). ``capture_failed`` is a
    capture the provider reported one by one and then failed (Adyen's ``CAPTURE_FAILED``).
    """

    PENDING = "pending"
    #: Funds are held for the merchant and may still be captured or released.
    AUTHORIZED = "authorized"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    #: A refund that has been asked for and not yet gone through.
    REFUND_PENDING = "refund_pending"
    #: A refund that succeeded (or, with ``refunded_total``, a running total of refunds).
    REFUNDED = "refunded"
    #: A refund that failed (also after it was reported succeeded) or was reversed: the money
    #: is the merchant's again.
    REFUND_FAILED = "refund_failed"
    REFUND_CANCELED = "refund_canceled"
    CAPTURE_FAILED = "capture_failed"
    DISPUTED = "disputed"
    DISPUTE_WON = "dispute_won"
    DISPUTE_LOST = "dispute_lost"


#: The statuses of an event that reports one refund.
REFUND_STATUSES: frozenset[str] = frozenset(
    {
        PaymentStatus.REFUND_PENDING,
        PaymentStatus.REFUNDED,
        PaymentStatus.REFUND_FAILED,
        PaymentStatus.REFUND_CANCELED,
    }
)


class Disposition(enum.StrEnum):
    """What the processor did with a verified delivery."""

    #: At least one event was new and is now stored durably.
    ACCEPTED = "accepted"
    #: Every event was stored before; nothing new was stored or queued.
    DUPLICATE = "duplicate"
    #: Authentic, but of an event type the processor does not normalise; nothing stored.
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Reply:
    """A success body a provider prescribes (Adyen requires the literal ``[accepted]``)."""

    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of :meth:`Pipeline.receive` for one request."""

    disposition: Disposition
    event_ids: tuple[str, ...]
    #: What the provider requires to hear on success; None means the processor's JSON answer.
    reply: Reply | None = None
    #: How many of ``event_ids`` this delivery stored; the others were stored before.
    stored: int = 0


class TransactionStatus(enum.StrEnum):
    """Where a transaction stands, derived from all its events (see
    :mod:`webhook_processor.transactions`, and the README's life-cycle table)."""

    PENDING = "pending"
    AUTHORIZED = "authorized"
    FAILED = "failed"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    DISPUTE_LOST = "dispute_lost"


@dataclass(frozen=True, slots=True)
class TransactionUpdate:
    """A transaction just after one of its events was applied: what subscribers are sent with
    the event, and one line of the transaction's timeline."""

    status: TransactionStatus
    #: None for the transaction's first event.
    previous_status: TransactionStatus | None
    #: The event came after events that had already moved the transaction past it: it is
    #: recorded and changed nothing.
    late: bool
    #: The captured amount once there is one, else the latest payment event's.
    amount: Decimal
    #: Refunded so far, in ``currency``.
    refunded: Decimal
    currency: str
    #: Counts the transaction's applied events: a subscriber can drop an update older than one
    #: it already has.
    version: int
    #: The amounts a team reconciles with (see :class:`~webhook_processor.transactions.
    #: TransactionState`); None on an event stored before they were kept.
    authorized: Decimal | None = None
    captured: Decimal | None = None
    disputed: Decimal | None = None
    #: How much this event took off ``refunded``: a refund that failed or was canceled (the
    #: provider's truth, recorded as a refund reversal). Zero for every other event.
    refund_reversed: Decimal | None = None
