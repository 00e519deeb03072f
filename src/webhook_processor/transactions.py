"""A transaction's state: every stored event applied to it once, and it never moves backwards.

Providers do not deliver in order (Stripe says so; every provider retries), so the state cannot
be "whatever arrived last". It is the join of what every event says, in three dimensions that
are each independent of arrival order:

``payment``
    The winning payment event. Events are ordered by phase first: an outcome (``canceled``,
    ``succeeded``) beats anything before one (``pending``, ``authorized``, ``failed``), so a
    ``processing`` that arrives after ``succeeded`` changes nothing. Within a phase the order is
    the provider's time, then the life-cycle rank (Stripe's ``created`` has one-second
    resolution: ``processing`` and ``succeeded`` of one second tie on time), then the provider's
    own sequence where it has one, then the event id, so the order is total.
``refunds``
    Each refund, by its identity (the provider's refund id where it reports one refund more than
    once, else the event), with its amount: a ``refunded`` event is the amount of one refund
    (see :class:`~webhook_processor.model.PaymentStatus`). A refund reported again is superseded
    by the later report (by provider time, sequence, event id), never added twice; the sum
    over refunds does not care about order.
``dispute``
    The winning dispute event: ``disputed`` is beaten by an outcome (``dispute_won``,
    ``dispute_lost``), ties again by time, sequence, id.

The life cycle a person reads (:class:`TransactionStatus`) is derived from the three::

    disputed       a dispute is open
    dispute_lost   the dispute went to the cardholder
    refunded       refunds add up to the captured amount
    partially_refunded   some refunded (or refunded before the capture was seen)
    otherwise      the payment's own status: pending, authorized, failed, canceled, succeeded

A won dispute gives the payment back its own status. Since each dimension only ever grows, the
state after a set of events is the same whatever order they arrived in, and every state a
subscriber is sent is at least the one before it (see :meth:`TransactionState.progress`). An
event that changes no dimension (a ``pending`` after ``succeeded``) is recorded as late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from webhook_processor import codec
from webhook_processor.model import (
    PaymentEvent,
    PaymentStatus,
    TransactionStatus,
    TransactionUpdate,
)

_S = PaymentStatus
#: Payment statuses: (phase, life-cycle rank). Phase 1 is an outcome; it beats phase 0.
PAYMENT_ORDER: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        _S.PENDING: (0, 0),
        _S.AUTHORIZED: (0, 1),
        _S.FAILED: (0, 2),
        _S.CANCELED: (1, 0),
        _S.SUCCEEDED: (1, 1),
    }
)
#: Dispute statuses: an outcome beats an open dispute.
DISPUTE_ORDER: Final[Mapping[str, int]] = MappingProxyType(
    {_S.DISPUTED: 0, _S.DISPUTE_WON: 1, _S.DISPUTE_LOST: 1}
)

_ZERO: Final = Decimal(0)

#: A sortable position: (phase or rank, provider time, rank, sequence, event id).
Position = tuple[int, datetime, int, int, str]


@dataclass(frozen=True, slots=True)
class Mark:
    """The event that currently wins one dimension, and where it stands in that dimension."""

    position: Position
    status: str
    amount: Decimal
    currency: str


def _position(event: PaymentEvent, phase: int, rank: int) -> Position:
    sequence = -1 if event.sequence is None else event.sequence
    return (phase, event.occurred_at, rank, sequence, event.event_id)


@dataclass(frozen=True, slots=True)
class TransactionState:
    """One transaction after the events applied so far."""

    transaction_id: str
    provider: str
    payment: Mark | None = None
    #: The smallest amount any ``succeeded`` event captured: a capture can only be partial, and
    #: the minimum never grows, so "refunded in full" never turns back into "partially".
    captured: Decimal | None = None
    #: Refund identity -> the latest report of that refund.
    refunds: Mapping[str, Mark] = field(default_factory=dict)
    dispute: Mark | None = None
    #: Events applied, and how many of them changed nothing because they came late.
    event_count: int = 0
    late_count: int = 0
    #: Bumped by every applied event: subscribers can drop an envelope older than one they have.
    version: int = 0
    last_event_id: str = ""
    updated_at: datetime | None = None

    @property
    def currency(self) -> str:
        if self.payment is not None:
            return self.payment.currency
        if self.dispute is not None:
            return self.dispute.currency
        return min((mark.currency for mark in self.refunds.values()), default="")

    @property
    def amount(self) -> Decimal:
        """The captured amount once there is one, else the winning payment event's amount."""
        if self.captured is not None:
            return self.captured
        return self.payment.amount if self.payment is not None else _ZERO

    @property
    def refunded(self) -> Decimal:
        """What has been refunded, in the transaction's currency."""
        if not self.refunds:  # most transactions: no refund to add up
            return _ZERO
        currency = self.currency
        return sum(
            (mark.amount for mark in self.refunds.values() if mark.currency == currency),
            Decimal(0),
        )

    @property
    def status(self) -> TransactionStatus:
        if self.dispute is not None and self.dispute.status == _S.DISPUTED:
            return TransactionStatus.DISPUTED
        if self.dispute is not None and self.dispute.status == _S.DISPUTE_LOST:
            return TransactionStatus.DISPUTE_LOST
        if self.refunded > 0:
            if self.captured is not None and self.refunded >= self.captured:
                return TransactionStatus.REFUNDED
            return TransactionStatus.PARTIALLY_REFUNDED
        if self.payment is None:
            return TransactionStatus.PENDING
        return TransactionStatus(self.payment.status)

    def progress(self) -> tuple[Position | None, tuple[tuple[str, Position], ...], Position | None]:
        """Where each dimension stands. A state never follows one whose progress is greater in
        any dimension (:func:`is_at_least` compares them)."""
        payment = self.payment.position if self.payment else None
        dispute = self.dispute.position if self.dispute else None
        refunds = tuple(sorted((key, mark.position) for key, mark in self.refunds.items()))
        return payment, refunds, dispute


def is_at_least(later: TransactionState, earlier: TransactionState) -> bool:
    """Whether ``later`` is ``earlier`` or further along in every dimension."""
    pay_l, refunds_l, dispute_l = later.progress()
    pay_e, refunds_e, dispute_e = earlier.progress()
    reports_l = dict(refunds_l)
    return (
        _not_behind(pay_l, pay_e)
        and _not_behind(dispute_l, dispute_e)
        and all(_not_behind(reports_l.get(key), report) for key, report in refunds_e)
    )


def _not_behind(later: Position | None, earlier: Position | None) -> bool:
    return earlier is None or (later is not None and later >= earlier)


@dataclass(frozen=True, slots=True)
class Transition:
    """What applying one event did to its transaction."""

    before: TransactionState | None
    after: TransactionState
    #: The event changed nothing (a later event had already moved the transaction past it).
    late: bool

    @property
    def previous_status(self) -> TransactionStatus | None:
        return None if self.before is None else self.before.status

    @property
    def update(self) -> TransactionUpdate:
        """What subscribers are told, and the timeline shows, of this transition."""
        after = self.after
        return TransactionUpdate(
            status=after.status,
            previous_status=self.previous_status,
            late=self.late,
            amount=after.amount,
            refunded=after.refunded,
            currency=after.currency,
            version=after.version,
        )


def apply(state: TransactionState | None, event: PaymentEvent) -> Transition:
    """``state`` with ``event`` applied. Each event must be applied once (stores make sure)."""
    current = state or TransactionState(event.transaction_id, event.provider)
    payment, captured = current.payment, current.captured
    refunds, dispute = current.refunds, current.dispute
    if event.status in PAYMENT_ORDER:
        phase, rank = PAYMENT_ORDER[event.status]
        mark = Mark(_position(event, phase, rank), event.status, event.amount, event.currency)
        if payment is None or mark.position > payment.position:
            payment = mark
        if event.status == _S.SUCCEEDED:
            captured = event.amount if captured is None else min(captured, event.amount)
    elif event.status == _S.REFUNDED:
        refund = event.refund_id or event.key
        mark = Mark(_position(event, 0, 0), event.status, event.amount, event.currency)
        known = refunds.get(refund)
        if known is None or mark.position > known.position:
            refunds = {**refunds, refund: mark}
    elif event.status in DISPUTE_ORDER:
        rank = DISPUTE_ORDER[event.status]
        mark = Mark(_position(event, rank, rank), event.status, event.amount, event.currency)
        if dispute is None or mark.position > dispute.position:
            dispute = mark
    else:
        raise ValueError(f"no place in the life cycle for status {event.status!r}")
    # A dimension that moved holds a new object; a capture of the same amount moved nothing.
    late = (
        payment is current.payment
        and captured == current.captured
        and refunds is current.refunds
        and dispute is current.dispute
    )
    # One construction rather than a dataclasses.replace per dimension: this runs for every
    # stored event, inside the group commit.
    after = TransactionState(
        current.transaction_id,
        current.provider,
        payment,
        captured,
        refunds,
        dispute,
        current.event_count + 1,
        current.late_count + late,
        current.version + 1,
        event.event_id,
        _latest(current.updated_at, event.received_at),
    )
    return Transition(state, after, late)


def _latest(known: datetime | None, received: datetime) -> datetime:
    return received if known is None or received > known else known


# -- persistence --------------------------------------------------------------------------------
# A store keeps the dimensions as JSON text beside the columns it lists by; these two functions
# are the one definition of that text.


def dimensions_to_json(state: TransactionState) -> str:
    """The three dimensions of ``state`` as JSON text (decimals and times exact): what
    :func:`codec.dumps` writes for ``{"payment": ..., "captured": ..., "refunds": {...},
    "dispute": ...}``, each mark as ``[phase, time, rank, sequence, event id, status, amount,
    currency]``, written directly since every stored event writes it."""
    captured = "null" if state.captured is None else codec.scalar(state.captured)
    refunds = ",".join(
        f"{codec.string(key)}:{_mark_json(mark)}" for key, mark in state.refunds.items()
    )
    return (
        f'{{"payment":{_mark_json(state.payment)},"captured":{captured},'
        f'"refunds":{{{refunds}}},"dispute":{_mark_json(state.dispute)}}}'
    )


def _mark_json(mark: Mark | None) -> str:
    if mark is None:
        return "null"
    phase, moment, rank, sequence, event_id = mark.position
    text = codec.string
    return (
        f"[{int(phase)},{text(moment.isoformat())},{int(rank)},{int(sequence)},{text(event_id)},"
        f"{text(mark.status)},{codec.scalar(mark.amount)},{text(mark.currency)}]"
    )


def state_from_columns(
    *,
    transaction_id: str,
    provider: str,
    dimensions: str,
    event_count: int,
    late_count: int,
    version: int,
    last_event_id: str,
    updated_at: datetime,
) -> TransactionState:
    """Inverse of :func:`dimensions_to_json` plus the counters a store keeps as columns."""
    parts = codec.loads(dimensions)
    captured = parts["captured"]
    return TransactionState(
        transaction_id=transaction_id,
        provider=provider,
        payment=_mark_from_list(parts["payment"]),
        captured=None if captured is None else Decimal(captured),
        refunds={key: _mark(value) for key, value in parts["refunds"].items()},
        dispute=_mark_from_list(parts["dispute"]),
        event_count=event_count,
        late_count=late_count,
        version=version,
        last_event_id=last_event_id,
        updated_at=updated_at,
    )


def _mark_from_list(value: list[Any] | None) -> Mark | None:
    return None if value is None else _mark(value)


def _mark(value: list[Any]) -> Mark:
    phase, moment, rank, sequence, event_id, status, amount, currency = value
    position = (phase, datetime.fromisoformat(moment), rank, sequence, event_id)
    return Mark(position, status, Decimal(amount), currency)
