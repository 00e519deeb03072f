"""Histories of one transaction, as a provider might send them, for property tests: a few
events over a few seconds (ties on provider time are the hard part), in any order, with any
redeliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from hypothesis import strategies as st

from tests.support.builders import NOW, make_event
from webhook_processor.model import PaymentEvent, PaymentStatus
from webhook_processor.transactions import Movement, TransactionState, apply, movement_key

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2)


def event(
    n: int, status: str, amount: str = "10.00", seconds: int = 0, **kw: object
) -> PaymentEvent:
    """Event ``evt_{n}`` of transaction ``pi_1``, ``seconds`` after ``NOW`` by the provider's
    clock, received ``n`` seconds after ``NOW``."""
    return make_event(
        f"evt_{n}",
        status=status,
        amount=Decimal(amount),
        occurred_at=NOW + timedelta(seconds=seconds),
        received_at=NOW + timedelta(seconds=n),
        **kw,
    )


@st.composite
def histories(draw: st.DrawFn, max_events: int = 8) -> list[PaymentEvent]:
    """Events of one transaction, in the order the provider sent them: any status, refunds and
    captures reported more than once (as pending, succeeded, failed), and running totals."""
    count = draw(st.integers(1, max_events))
    made = []
    for n in range(count):
        status = draw(st.sampled_from(sorted(PaymentStatus)))
        total = None
        if status in (PaymentStatus.REFUNDED, PaymentStatus.SUCCEEDED):
            # A charge's running total of refunds (Stripe's charge.refunded, Square's payment).
            total = draw(st.none() | AMOUNTS)
        made.append(
            event(
                n,
                status,
                str(draw(AMOUNTS)),
                seconds=draw(st.integers(0, 5)),
                sequence=draw(st.none() | st.integers(0, 3)),
                movement_id=draw(st.none() | st.sampled_from(["rf_1", "rf_2"])),
                refunded_total=total,
                captured=draw(st.none() | AMOUNTS) if status == PaymentStatus.SUCCEEDED else None,
            )
        )
    return made


@st.composite
def deliveries(draw: st.DrawFn, history: list[PaymentEvent]) -> list[PaymentEvent]:
    """``history`` as it might arrive: any order, some events delivered more than once."""
    redelivered = draw(st.lists(st.sampled_from(history), max_size=len(history)))
    return draw(st.permutations(history + redelivered))


def final(state: TransactionState) -> tuple[object, ...]:
    """What must not depend on arrival order (the late count and last event do, by design)."""
    return (
        state.status,
        state.amount,
        state.authorized,
        state.captured,
        state.refunded,
        state.disputed,
        state.currency,
        state.progress(),
    )


@dataclass
class Replay:
    """Events applied in order as a store applies them: each movement kept as a record."""

    state: TransactionState | None = None
    movements: dict[tuple[str, str], Movement] = field(default_factory=dict)
    lates: list[bool] = field(default_factory=list)

    def apply(self, event: PaymentEvent) -> TransactionState:
        key = movement_key(event)
        transition = apply(self.state, event, None if key is None else self.movements.get(key))
        if key is not None and transition.movement is not None:
            self.movements[key] = transition.movement
        self.state = transition.after
        self.lates.append(transition.late)
        return transition.after

    def live_refunds(self) -> object:
        """The sum of the refunds that have not failed or been canceled."""
        return sum(
            (m.amount for (kind, _), m in self.movements.items() if kind == "refund" and m.live),
            Decimal(0),
        )


def replay(events: list[PaymentEvent]) -> Replay:
    played = Replay()
    for one in events:
        played.apply(one)
    return played
