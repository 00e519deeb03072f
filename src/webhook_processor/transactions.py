"""A transaction's state: every stored event applied to it once, whatever order they came in.

Providers do not deliver in order (Stripe says so; every provider retries), so the state cannot
be "whatever arrived last". It is the join of what every event says, in dimensions that are
each independent of arrival order:

``payment``
    The winning payment event. Events are ordered by phase first: an outcome (``canceled``,
    ``succeeded``) beats anything before one (``pending``, ``authorized``, ``failed``), so a
    ``processing`` that arrives after ``succeeded`` changes nothing. Within a phase the order is
    the provider's time, then the life-cycle rank (Stripe's ``created`` has one-second
    resolution: ``processing`` and ``succeeded`` of one second tie on time), then the provider's
    own sequence where it has one, then the event id, so the order is total.
``authorization``
    The latest ``authorized`` event: what the payment authorised (an authorisation can be
    adjusted).
movements: ``refunds`` and ``captures``
    Each refund (and, where a provider reports them one by one, each capture) is a record of its
    own, a :class:`Movement` keyed by the provider's id for it, with a life cycle that only
    moves forward: ``pending`` -> ``succeeded``, and ``failed`` or ``canceled`` as outcomes that
    can follow either. A refund reported again by a later event (Square's ``refund.updated``,
    Stripe's ``refund.updated``) is the same record, never counted twice. The transaction holds
    only a :class:`Tally` of each kind: the sum of its live movements (pending or succeeded),
    how many there are, the latest provider time any of them was reported at, and the
    provider's own running total where the provider reports one (Stripe's ``amount_refunded``
    and ``amount_received``, Square's ``refunded_money``). So storing an event costs the same
    whatever the transaction's history: one movement record read and written, never a list.
``dispute``
    The winning dispute event: ``disputed`` is beaten by an outcome (``dispute_won``,
    ``dispute_lost``), ties again by time, sequence, id.

A tally's amount is the sum of its live movements without a running total. With one, it is the
total where no movement was reported after it (the provider's own word: an integration that
listens only to ``charge.refunded`` has the total and no refunds, one that listens to both has
refunds the total must not add to); where a movement was reported after it, the larger of the
live sum and the total less the refunds that failed since (``charge.refunded`` and then
``refund.failed``). A stale total delivered late changes nothing.

The life cycle a person reads (:class:`TransactionStatus`) is derived from the dimensions::

    disputed       a dispute is open
    dispute_lost   the dispute went to the cardholder
    refunded       live refunds add up to the captured amount
    partially_refunded   some refunded (or refunded before the capture was seen)
    failed         every capture reported one by one failed (Adyen's CAPTURE_FAILED)
    otherwise      the payment's own status: pending, authorized, failed, canceled, succeeded

What only moves forward is each dimension: the payment, the authorization, the dispute, each
movement's own status, and each running total. The status derived from them can move back
when the provider says money came back: a refund that fails takes ``refunded`` down, and a
``partially_refunded`` payment is ``succeeded`` again. That transition is recorded as a refund
reversal (:attr:`TransactionUpdate.refund_reversed`), not as a regression. A won dispute gives
the payment back its own status. An event that changes no dimension (a ``pending`` after
``succeeded``) is recorded as late.
"""

from __future__ import annotations

import enum
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


class MovementStatus(enum.StrEnum):
    """Where one refund or capture stands. Failed and canceled are outcomes that can follow
    pending or succeeded (a bank refund can fail days after it was reported succeeded)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


_M = MovementStatus
#: A movement's status -> its rank: it only ever moves to a higher one.
MOVEMENT_ORDER: Final[Mapping[str, int]] = MappingProxyType(
    {_M.PENDING: 0, _M.SUCCEEDED: 1, _M.FAILED: 2, _M.CANCELED: 2}
)
LIVE: Final = frozenset({_M.PENDING, _M.SUCCEEDED})
REFUND, CAPTURE = "refund", "capture"
#: Event statuses that report one refund or capture: (kind, the movement's status).
MOVEMENT_REPORTS: Final[Mapping[str, tuple[str, MovementStatus]]] = MappingProxyType(
    {
        _S.REFUND_PENDING: (REFUND, _M.PENDING),
        _S.REFUNDED: (REFUND, _M.SUCCEEDED),
        _S.REFUND_FAILED: (REFUND, _M.FAILED),
        _S.REFUND_CANCELED: (REFUND, _M.CANCELED),
        _S.CAPTURE_FAILED: (CAPTURE, _M.FAILED),
    }
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


@dataclass(frozen=True, slots=True)
class Movement:
    """One refund or capture of a transaction, as its latest report says (a record of its own
    in every store, keyed by ``(provider, transaction_id, kind, movement_id)``)."""

    kind: str
    movement_id: str
    status: MovementStatus
    amount: Decimal
    currency: str
    #: (rank, provider time, 0, sequence, event id) of the report that won.
    position: Position
    #: The event whose report won.
    event_id: str

    @property
    def live(self) -> bool:
        """Counted in its transaction's totals: not failed, not canceled."""
        return self.status in LIVE

    @property
    def updated_at(self) -> datetime:
        """The provider's time of the report that won."""
        return self.position[1]


@dataclass(frozen=True, slots=True)
class Tally:
    """What a transaction holds of one kind of movement: totals, never the movements."""

    #: The sum of the live movements' amounts.
    live: Decimal = _ZERO
    #: Movements of this kind, live or not.
    count: int = 0
    #: The latest provider time of any movement report of this kind.
    newest: datetime | None = None
    #: The provider's latest running total (Stripe's ``amount_refunded``), if it reports one.
    total: Mark | None = None
    #: The movements that failed or were canceled after the running total was reported (all
    #: of them while there is none): ``(when, movement id, amount)``, latest first, at most
    #: :data:`MAX_REVERSALS`. The total still counts them; the provider has taken them back.
    reversals: tuple[tuple[datetime, str, Decimal], ...] = ()

    @property
    def amount(self) -> Decimal:
        """The provider's running total where it is the newest report (its own word: an
        integration may not hear every movement event); where a movement was reported after
        it, the larger of the live movements' sum and the total less what was taken back since
        (a refund that failed after ``charge.refunded``). The live sum without a total."""
        total = self.total
        if total is None:
            return self.live
        if self.newest is None or self.newest <= total.position[1]:
            return total.amount
        taken_back = sum((amount for _, _, amount in self.reversals), _ZERO)
        return max(self.live, total.amount - taken_back)


_NO_TALLY: Final = Tally()
#: Reversals a tally keeps: failures of refunds since the provider's last running total. Exact
#: up to this many; beyond, the oldest are dropped (they would count as still refunded).
MAX_REVERSALS: Final = 64


def _position(event: PaymentEvent, phase: int, rank: int) -> Position:
    sequence = -1 if event.sequence is None else event.sequence
    return (phase, event.occurred_at, rank, sequence, event.event_id)


@dataclass(frozen=True, slots=True)
class TransactionState:
    """One transaction after the events applied so far."""

    transaction_id: str
    provider: str
    payment: Mark | None = None
    authorization: Mark | None = None
    captures: Tally = _NO_TALLY
    refunds: Tally = _NO_TALLY
    dispute: Mark | None = None
    #: Events applied, and how many of them changed nothing because they came late.
    event_count: int = 0
    late_count: int = 0
    #: Bumped by every applied event: subscribers can drop an envelope older than one they have.
    version: int = 0
    last_event_id: str = ""
    updated_at: datetime | None = None
    #: The currency of the first refund or capture seen, while no payment event says one.
    movement_currency: str = ""
    #: Refunds release 0.1.0 kept inside the state (refund identity -> its latest report): read
    #: as the movements they are, never added to.
    legacy_refunds: Mapping[str, Mark] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        if self.payment is not None:
            return self.payment.currency
        if self.dispute is not None:
            return self.dispute.currency
        return self.movement_currency

    @property
    def captured(self) -> Decimal:
        """What has been captured: the captures reported one by one (Adyen), else the
        provider's running total of them (every other provider's ``succeeded`` events)."""
        return self.captures.amount

    @property
    def authorized(self) -> Decimal:
        """What the payment authorised: the latest authorisation's amount, else the payment
        event's own amount once it succeeded (a payment captured without a separate
        authorisation authorised what it asked)."""
        return _authorized(self.authorization, self.payment)

    @property
    def amount(self) -> Decimal:
        """The captured amount once there is one, else the winning payment event's amount."""
        captured = self.captured
        if captured > 0:
            return captured
        return self.payment.amount if self.payment is not None else _ZERO

    @property
    def refunded(self) -> Decimal:
        """What has been refunded and not failed or canceled, in the transaction's currency."""
        return self.refunds.amount

    @property
    def disputed(self) -> Decimal:
        """The amount held by a dispute that is open or was lost (none once it is won)."""
        dispute = self.dispute
        if dispute is None or dispute.status == _S.DISPUTE_WON:
            return _ZERO
        return dispute.amount

    @property
    def status(self) -> TransactionStatus:
        if self.dispute is not None and self.dispute.status == _S.DISPUTED:
            return TransactionStatus.DISPUTED
        if self.dispute is not None and self.dispute.status == _S.DISPUTE_LOST:
            return TransactionStatus.DISPUTE_LOST
        refunded = self.refunded
        if refunded > 0:
            captured = self.captured
            if captured > 0 and refunded >= captured:
                return TransactionStatus.REFUNDED
            return TransactionStatus.PARTIALLY_REFUNDED
        return self._payment_status()

    def _payment_status(self) -> TransactionStatus:
        if self.payment is None:
            return TransactionStatus.PENDING
        if (
            self.captures.count
            and self.captures.live <= 0
            and self.payment.status in (_S.AUTHORIZED, _S.SUCCEEDED)
        ):
            return TransactionStatus.FAILED  # every capture of it failed: no money moved
        return TransactionStatus(self.payment.status)

    def progress(self) -> tuple[Any, ...]:
        """Where each dimension of the transaction itself stands (its movements are records
        of their own: see :func:`movement_is_at_least`). A state never follows one whose
        progress is greater in any dimension (:func:`is_at_least` compares them)."""
        return (
            _at(self.payment),
            _at(self.authorization),
            _at(self.dispute),
            _total_at(self.captures.total),
            _total_at(self.refunds.total),
            self.captures.count,
            self.refunds.count,
            self.captures.newest,
            self.refunds.newest,
        )


def _authorized(authorization: Mark | None, payment: Mark | None) -> Decimal:
    if authorization is not None:
        return authorization.amount
    if payment is not None and payment.status == _S.SUCCEEDED:
        return payment.amount
    return _ZERO


def _at(mark: Mark | None) -> Position | None:
    return None if mark is None else mark.position


def _total_at(mark: Mark | None) -> tuple[datetime, Decimal, Position] | None:
    return None if mark is None else _total_order(mark)


def is_at_least(later: TransactionState, earlier: TransactionState) -> bool:
    """Whether ``later`` is ``earlier`` or further along in every dimension."""
    return all(
        _not_behind(l_at, e_at)
        for l_at, e_at in zip(later.progress(), earlier.progress(), strict=True)
    )


def movement_is_at_least(later: Movement | None, earlier: Movement | None) -> bool:
    """Whether a movement's record ``later`` is ``earlier`` or further along."""
    return _not_behind(
        None if later is None else later.position, None if earlier is None else earlier.position
    )


def _not_behind(later: Any, earlier: Any) -> bool:
    return earlier is None or (later is not None and later >= earlier)


@dataclass(frozen=True, slots=True)
class Transition:
    """What applying one event did to its transaction, and to the movement it reported."""

    before: TransactionState | None
    after: TransactionState
    #: The event changed nothing (a later event had already moved the transaction past it).
    late: bool
    #: The movement record the event reported, as it stands now; None if it reported none.
    movement: Movement | None = None
    #: Whether :attr:`movement` changed, so a store must write it.
    movement_changed: bool = False

    @property
    def previous_status(self) -> TransactionStatus | None:
        return None if self.before is None else self.before.status

    @property
    def update(self) -> TransactionUpdate:
        """What subscribers are told, and the timeline shows, of this transition."""
        after = self.after
        refunded = after.refunded
        before = _ZERO if self.before is None else self.before.refunded
        return TransactionUpdate(
            status=after.status,
            previous_status=self.previous_status,
            late=self.late,
            amount=after.amount,
            refunded=refunded,
            currency=after.currency,
            version=after.version,
            authorized=after.authorized,
            captured=after.captured,
            disputed=after.disputed,
            refund_reversed=before - refunded if refunded < before else _ZERO,
        )


def movement_key(event: PaymentEvent) -> tuple[str, str] | None:
    """``(kind, movement id)`` of the refund or capture ``event`` reports, or None: the store
    reads that one record before applying the event. A refund event without an id of its own
    is its own refund (a provider that reports each refund once)."""
    report = MOVEMENT_REPORTS.get(event.status)
    if report is not None:
        if event.status == _S.REFUNDED and event.refunded_total is not None:
            return None  # a charge's running total, not one refund (Stripe's charge.refunded)
        return report[0], event.movement_id or event.key
    if event.status == _S.SUCCEEDED and event.movement_id is not None:
        return CAPTURE, event.movement_id  # a capture reported one by one (Adyen's CAPTURE)
    return None


def apply(
    state: TransactionState | None, event: PaymentEvent, movement: Movement | None = None
) -> Transition:
    """``state`` with ``event`` applied, given the stored record of the movement it reports
    (``movement_key(event)``; None if there is none yet). Each event must be applied once
    (stores make sure)."""
    current = state or TransactionState(event.transaction_id, event.provider)
    payment, authorization, dispute = current.payment, current.authorization, current.dispute
    captures, refunds = current.captures, current.refunds
    status = event.status
    if status in PAYMENT_ORDER:
        phase, rank = PAYMENT_ORDER[status]
        mark = Mark(_position(event, phase, rank), status, event.amount, event.currency)
        payment = _later(payment, mark)
        if status == _S.AUTHORIZED:
            authorization = _later(authorization, mark)
    elif status in DISPUTE_ORDER:
        rank = DISPUTE_ORDER[status]
        mark = Mark(_position(event, rank, rank), status, event.amount, event.currency)
        dispute = _later(dispute, mark)
    elif status not in MOVEMENT_REPORTS:
        raise ValueError(f"no place in the life cycle for status {status!r}")

    key = movement_key(event)
    after_movement, changed = movement, False
    if key is not None:
        kind, movement_id = key
        if movement is None and kind == REFUND:
            movement = _legacy(current, movement_id)
        after_movement = _report(event, kind, movement_id, movement)
        changed = after_movement is not movement
        tally = captures if kind == CAPTURE else refunds
        tally = _tallied(tally, movement, after_movement, event.occurred_at, current.currency)
        if kind == CAPTURE:
            captures = tally
        else:
            refunds = tally
    elif status == _S.SUCCEEDED:  # a capture total: what this payment event says was captured
        captured = event.captured if event.captured is not None else event.amount
        captures = _with_total(captures, event, captured)
    if event.refunded_total is not None:
        refunds = _with_total(refunds, event, event.refunded_total)

    # A dimension that moved holds a new object; a later authorisation matters only if it
    # changes what was authorised.
    late = (
        not changed
        and payment is current.payment
        and dispute is current.dispute
        and _same(captures, current.captures)
        and _same(refunds, current.refunds)
        and (
            authorization is current.authorization
            or _authorized(authorization, payment) == current.authorized
        )
    )
    movement_currency = current.movement_currency
    if key is not None and (not movement_currency or event.currency < movement_currency):
        movement_currency = event.currency  # the smallest: the same whatever the order
    # One construction rather than a dataclasses.replace per dimension: this runs for every
    # stored event, inside the group commit.
    after = TransactionState(
        current.transaction_id,
        current.provider,
        payment,
        authorization,
        captures,
        refunds,
        dispute,
        current.event_count + 1,
        current.late_count + late,
        current.version + 1,
        event.event_id,
        _latest(current.updated_at, event.received_at),
        movement_currency,
        current.legacy_refunds,
    )
    return Transition(state, after, late, after_movement, changed)


def _same(tally: Tally, known: Tally) -> bool:
    """Nothing a person reads changed: a report older than its movement's (a late one) moves
    only ``newest``, and that moves no amount."""
    return tally is known or (
        tally.live == known.live
        and tally.count == known.count
        and tally.total is known.total
        and tally.amount == known.amount
    )


def _later(known: Mark | None, mark: Mark) -> Mark:
    return mark if known is None or mark.position > known.position else known


def _report(event: PaymentEvent, kind: str, movement_id: str, known: Movement | None) -> Movement:
    """The movement's record after ``event`` reported it: the report that stands furthest in
    its life cycle wins (then the provider's time, sequence, event id)."""
    status = MOVEMENT_REPORTS[event.status][1] if kind == REFUND else _capture_status(event)
    reported = Movement(
        kind,
        movement_id,
        status,
        event.amount,
        event.currency,
        _position(event, MOVEMENT_ORDER[status], 0),
        event.event_id,
    )
    if known is None or reported.position > known.position:
        return reported
    return known


def _capture_status(event: PaymentEvent) -> MovementStatus:
    return _M.FAILED if event.status == _S.CAPTURE_FAILED else _M.SUCCEEDED


def _tallied(
    tally: Tally,
    before: Movement | None,
    after: Movement,
    reported_at: datetime,
    currency: str,
) -> Tally:
    """``tally`` once one movement went from ``before`` to ``after`` (reported at
    ``reported_at``); the same object if nothing it holds changed."""
    live = tally.live
    if after is not before:
        if before is not None and before.live:
            live -= before.amount
        if after.live:
            live += after.amount
    count = tally.count + (before is None)
    newest = reported_at if tally.newest is None or reported_at > tally.newest else tally.newest
    reversals = tally.reversals
    if after is not before and not after.live:
        reversals = _reversals(
            [r for r in reversals if r[1] != after.movement_id]
            + [(after.updated_at, after.movement_id, after.amount)],
            tally.total,
        )
    if (
        live == tally.live
        and count == tally.count
        and newest == tally.newest
        and reversals == tally.reversals
    ):
        return tally
    return Tally(live, count, newest, tally.total, reversals)


def _reversals(
    entries: list[tuple[datetime, str, Decimal]], total: Mark | None
) -> tuple[tuple[datetime, str, Decimal], ...]:
    """The reversals after ``total`` (all without one), latest first, at most MAX_REVERSALS."""
    kept = [entry for entry in entries if total is None or entry[0] > total.position[1]]
    kept.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return tuple(kept[:MAX_REVERSALS])


def _with_total(tally: Tally, event: PaymentEvent, amount: Decimal) -> Tally:
    """``tally`` with the provider's running total ``event`` reports, if it is the latest: by
    the provider's time, then the larger total (two refunds of one second: Stripe's ``created``
    has one-second resolution, and a running total grows but for a failure, days later)."""
    mark = Mark(_position(event, 0, 0), event.status, amount, event.currency)
    known = tally.total
    if known is not None and _total_order(mark) <= _total_order(known):
        return tally
    reversals = _reversals(list(tally.reversals), mark)
    return Tally(tally.live, tally.count, tally.newest, mark, reversals)


def _total_order(mark: Mark) -> tuple[datetime, Decimal, Position]:
    return (mark.position[1], mark.amount, mark.position)


def _legacy(state: TransactionState, movement_id: str) -> Movement | None:
    """A refund release 0.1.0 kept inside the transaction, as the movement it is."""
    mark = state.legacy_refunds.get(movement_id)
    if mark is None:
        return None
    return Movement(
        REFUND,
        movement_id,
        _M.SUCCEEDED,
        mark.amount,
        mark.currency,
        (MOVEMENT_ORDER[_M.SUCCEEDED], *mark.position[1:]),
        mark.position[4],
    )


def _latest(known: datetime | None, received: datetime) -> datetime:
    return received if known is None or received > known else known


# -- persistence --------------------------------------------------------------------------------
# A store keeps the dimensions as JSON text beside the columns it lists by, and each movement
# as a record of its own; these functions are the one definition of that text.


def dimensions_to_json(state: TransactionState) -> str:
    """The dimensions of ``state`` as JSON text (decimals and times exact): what
    :func:`codec.dumps` writes for ``{"payment": ..., "authorization": ..., "dispute": ...,
    "captures": tally, "refunds": tally, "movement_currency": ...}``, each mark as ``[phase,
    time, rank, sequence, event id, status, amount, currency]`` and each tally as ``[live,
    count, newest, total mark, reversals]``; ``legacy_refunds`` only where release 0.1.0 left some.
    Written directly since every stored event writes it."""
    text = codec.string
    legacy = ""
    if state.legacy_refunds:
        marks = ",".join(f"{text(k)}:{_mark_json(m)}" for k, m in state.legacy_refunds.items())
        legacy = f',"legacy_refunds":{{{marks}}}'
    return (
        f'{{"payment":{_mark_json(state.payment)},'
        f'"authorization":{_mark_json(state.authorization)},'
        f'"dispute":{_mark_json(state.dispute)},'
        f'"captures":{_tally_json(state.captures)},"refunds":{_tally_json(state.refunds)},'
        f'"movement_currency":{text(state.movement_currency)}{legacy}}}'
    )


def _tally_json(tally: Tally) -> str:
    newest = "null" if tally.newest is None else codec.string(tally.newest.isoformat())
    reversals = ",".join(
        f"[{codec.string(when.isoformat())},{codec.string(movement_id)},{codec.scalar(amount)}]"
        for when, movement_id, amount in tally.reversals
    )
    return (
        f"[{codec.scalar(tally.live)},{int(tally.count)},{newest},{_mark_json(tally.total)},"
        f"[{reversals}]]"
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
    """Inverse of :func:`dimensions_to_json` plus the counters a store keeps as columns; also
    reads the dimensions release 0.1.0 wrote (``captured`` and a ``refunds`` map)."""
    parts = codec.loads(dimensions)
    if "captures" in parts:
        captures, refunds = _tally(parts["captures"]), _tally(parts["refunds"])
        legacy = {key: _mark(value) for key, value in parts.get("legacy_refunds", {}).items()}
        authorization = _mark_from_list(parts["authorization"])
        movement_currency = parts["movement_currency"]
    else:  # release 0.1.0: the refunds inside, and the smallest capture
        legacy = {key: _mark(value) for key, value in parts["refunds"].items()}
        captures = _legacy_captures(parts)
        refunds = _legacy_tally(legacy)
        authorization = None
        movement_currency = min((mark.currency for mark in legacy.values()), default="")
    return TransactionState(
        transaction_id=transaction_id,
        provider=provider,
        payment=_mark_from_list(parts["payment"]),
        authorization=authorization,
        captures=captures,
        refunds=refunds,
        dispute=_mark_from_list(parts["dispute"]),
        event_count=event_count,
        late_count=late_count,
        version=version,
        last_event_id=last_event_id,
        updated_at=updated_at,
        movement_currency=movement_currency,
        legacy_refunds=legacy,
    )


def _legacy_captures(parts: dict[str, Any]) -> Tally:
    payment = _mark_from_list(parts["payment"])
    if parts["captured"] is None or payment is None:
        return _NO_TALLY
    total = Mark((0, *payment.position[1:]), payment.status, Decimal(parts["captured"]), "")
    return Tally(total=total)


def _legacy_tally(refunds: Mapping[str, Mark]) -> Tally:
    if not refunds:
        return _NO_TALLY
    return Tally(
        live=sum((mark.amount for mark in refunds.values()), _ZERO),
        count=len(refunds),
        newest=max(mark.position[1] for mark in refunds.values()),
    )


def _tally(value: list[Any]) -> Tally:
    live, count, newest, total, reversals = value
    return Tally(
        Decimal(live),
        int(count),
        None if newest is None else datetime.fromisoformat(newest),
        _mark_from_list(total),
        tuple((datetime.fromisoformat(w), m, Decimal(a)) for w, m, a in reversals),
    )


def _mark_from_list(value: list[Any] | None) -> Mark | None:
    return None if value is None else _mark(value)


def _mark(value: list[Any]) -> Mark:
    phase, moment, rank, sequence, event_id, status, amount, currency = value
    position = (phase, datetime.fromisoformat(moment), rank, sequence, event_id)
    return Mark(position, status, Decimal(amount), currency)
