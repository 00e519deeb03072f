"""The transaction life cycle, as pure functions: order-free, forward-only, exact."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.builders import NOW
from tests.support.histories import deliveries, event, final, histories
from webhook_processor import codec
from webhook_processor.model import PaymentEvent, PaymentStatus, TransactionStatus
from webhook_processor.transactions import (
    Mark,
    TransactionState,
    apply,
    dimensions_to_json,
    is_at_least,
    state_from_columns,
)

S = PaymentStatus


def run(events: list[PaymentEvent]) -> tuple[TransactionState, list[bool]]:
    state: TransactionState | None = None
    lates = []
    for e in events:
        transition = apply(state, e)
        state = transition.after
        lates.append(transition.late)
    assert state is not None
    return state, lates


def test_succeeded_before_processing_stays_succeeded_and_marks_processing_late() -> None:
    succeeded, processing = event(1, S.SUCCEEDED), event(2, S.PENDING)
    state, lates = run([succeeded, processing])
    assert state.status is TransactionStatus.SUCCEEDED
    assert lates == [False, True]
    assert (state.event_count, state.late_count) == (2, 1)


def test_processing_and_succeeded_of_one_second_tie_on_time_and_succeeded_wins() -> None:
    """Stripe's ``created`` has one-second resolution: the life cycle breaks the tie."""
    state, _ = run([event(1, S.SUCCEEDED, seconds=5), event(2, S.AUTHORIZED, seconds=5)])
    assert state.status is TransactionStatus.SUCCEEDED


def test_before_an_outcome_the_providers_time_decides() -> None:
    """A failed attempt, then a new authorisation: the later one is where the payment is."""
    state, lates = run([event(1, S.AUTHORIZED, seconds=9), event(2, S.FAILED, seconds=3)])
    assert state.status is TransactionStatus.AUTHORIZED
    assert lates == [False, True]


def test_a_refund_before_its_capture_is_refunded_in_full_once_the_capture_arrives() -> None:
    refund = event(1, S.REFUNDED, "10.00", seconds=9)
    capture = event(2, S.SUCCEEDED, "10.00", seconds=1)
    after_refund, _ = run([refund])
    assert after_refund.status is TransactionStatus.PARTIALLY_REFUNDED
    state, lates = run([refund, capture])
    assert state.status is TransactionStatus.REFUNDED
    assert (state.amount, state.refunded) == (Decimal("10.00"), Decimal("10.00"))
    assert lates == [False, False]


def test_two_partial_refunds_add_up_exactly_to_refunded() -> None:
    capture = event(1, S.SUCCEEDED, "10.00")
    first, second = event(2, S.REFUNDED, "3.33", 1), event(3, S.REFUNDED, "6.67", 2)
    partial, _ = run([capture, first])
    assert (partial.status, partial.refunded) == (
        TransactionStatus.PARTIALLY_REFUNDED,
        Decimal("3.33"),
    )
    state, _ = run([capture, first, second])
    assert (state.status, state.refunded) == (TransactionStatus.REFUNDED, Decimal("10.00"))


def test_one_refund_reported_twice_counts_once_and_the_later_report_wins() -> None:
    """Square reports a refund again with each refund.updated, under a new event id."""
    capture = event(1, S.SUCCEEDED, "10.00")
    first = event(2, S.REFUNDED, "4.00", seconds=2, refund_id="rf_1")
    again = event(3, S.REFUNDED, "4.00", seconds=3, refund_id="rf_1")
    other = event(4, S.REFUNDED, "6.00", seconds=4, refund_id="rf_2")
    state, lates = run([capture, again, first, other])
    assert (state.status, state.refunded) == (TransactionStatus.REFUNDED, Decimal("10.00"))
    assert lates == [False, False, True, False]


def test_a_dispute_opened_then_won_gives_the_payment_its_status_back() -> None:
    capture, opened, won = (
        event(1, S.SUCCEEDED),
        event(2, S.DISPUTED, seconds=5),
        event(3, S.DISPUTE_WON, seconds=9),
    )
    disputed, _ = run([capture, opened])
    assert disputed.status is TransactionStatus.DISPUTED
    state, _ = run([capture, opened, won])
    assert state.status is TransactionStatus.SUCCEEDED
    assert state.dispute is not None
    assert state.dispute.status == S.DISPUTE_WON
    assert is_at_least(state, disputed)


def test_a_dispute_won_before_it_was_seen_opening_keeps_the_outcome() -> None:
    state, lates = run(
        [
            event(1, S.SUCCEEDED),
            event(2, S.DISPUTE_LOST, seconds=9),
            event(3, S.DISPUTED, seconds=5),
        ]
    )
    assert state.status is TransactionStatus.DISPUTE_LOST
    assert lates == [False, False, True]


def test_a_status_outside_the_life_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="no place in the life cycle for status 'weird'"):
        apply(None, event(1, "weird"))


def test_the_version_counts_applied_events_and_the_transition_names_the_previous_status() -> None:
    first = apply(None, event(1, S.PENDING))
    second = apply(first.after, event(2, S.SUCCEEDED, seconds=1))
    assert (first.previous_status, second.previous_status) == (None, TransactionStatus.PENDING)
    assert (first.after.version, second.after.version) == (1, 2)
    assert second.after.last_event_id == "evt_2"


# -- any order, any duplication --------------------------------------------------------------


@settings(max_examples=500)
@given(history=histories(), data=st.data())
def test_any_arrival_order_with_redeliveries_ends_in_the_in_order_state(
    history: list[PaymentEvent], data: st.DataObject
) -> None:
    arrivals = data.draw(deliveries(history))
    seen: set[str] = set()
    state: TransactionState | None = None
    for arrival in arrivals:
        if arrival.key in seen:
            continue  # a redelivery: the store finds it stored and applies nothing
        seen.add(arrival.key)
        transition = apply(state, replace(arrival, received_at=NOW))
        assert state is None or is_at_least(transition.after, state)
        state = transition.after
    in_order, _ = run(history)
    assert state is not None
    assert final(state) == final(in_order)
    assert state.event_count == len(history)


def _as_list(mark: Mark | None) -> list[object] | None:
    if mark is None:
        return None
    phase, moment, rank, sequence, event_id = mark.position
    return [
        phase,
        moment.isoformat(),
        rank,
        sequence,
        event_id,
        mark.status,
        mark.amount,
        mark.currency,
    ]


@settings(max_examples=200)
@given(history=histories())
def test_the_dimensions_text_is_the_codecs_text_and_reads_back_to_the_same_state(
    history: list[PaymentEvent],
) -> None:
    state, _ = run(history)
    text = dimensions_to_json(state)
    assert text == codec.dumps(
        {
            "payment": _as_list(state.payment),
            "captured": state.captured,
            "refunds": {key: _as_list(mark) for key, mark in state.refunds.items()},
            "dispute": _as_list(state.dispute),
        }
    )
    back = state_from_columns(
        transaction_id=state.transaction_id,
        provider=state.provider,
        dimensions=text,
        event_count=state.event_count,
        late_count=state.late_count,
        version=state.version,
        last_event_id=state.last_event_id,
        updated_at=NOW,
    )
    assert (back.payment, back.captured, back.refunds, back.dispute) == (
        state.payment,
        state.captured,
        state.refunds,
        state.dispute,
    )
