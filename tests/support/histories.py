"""Histories of one transaction, as a provider might send them, for property tests: a few
events over a few seconds (ties on provider time are the hard part), in any order, with any
redeliveries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import strategies as st

from tests.support.builders import NOW, make_event
from webhook_processor.model import PaymentEvent, PaymentStatus
from webhook_processor.transactions import TransactionState

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
    """Events of one transaction, in the order the provider sent them."""
    count = draw(st.integers(1, max_events))
    return [
        event(
            n,
            draw(st.sampled_from(sorted(PaymentStatus))),
            str(draw(AMOUNTS)),
            seconds=draw(st.integers(0, 5)),
            sequence=draw(st.none() | st.integers(0, 3)),
            # Some refunds are reported more than once, as Square does.
            refund_id=draw(st.none() | st.sampled_from(["rf_1", "rf_2"])),
        )
        for n in range(count)
    ]


@st.composite
def deliveries(draw: st.DrawFn, history: list[PaymentEvent]) -> list[PaymentEvent]:
    """``history`` as it might arrive: any order, some events delivered more than once."""
    redelivered = draw(st.lists(st.sampled_from(history), max_size=len(history)))
    return draw(st.permutations(history + redelivered))


def final(state: TransactionState) -> tuple[object, ...]:
    """What must not depend on arrival order (the late count and last event do, by design)."""
    return (state.status, state.amount, state.refunded, state.currency, state.progress())
