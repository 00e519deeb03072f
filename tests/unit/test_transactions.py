"""The transaction life cycle, as pure functions: order-free, forward-only, exact."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.builders import NOW
from tests.support.histories import Replay, deliveries, event, final, histories, replay
from webhook_processor import codec
from webhook_processor.model import REFUND_STATUSES, PaymentEvent, PaymentStatus, TransactionStatus
from webhook_processor.transactions import (
    MOVEMENT_REPORTS,
    TransactionState,
    apply,
    dimensions_to_json,
    is_at_least,
    movement_is_at_least,
    state_from_columns,
)

S = PaymentStatus


def run(events: list[PaymentEvent]) -> tuple[TransactionState, list[bool]]:
    played = replay(events)
    assert played.state is not None
    return played.state, played.lates


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
    first = event(2, S.REFUNDED, "4.00", seconds=2, movement_id="rf_1")
    again = event(3, S.REFUNDED, "4.00", seconds=3, movement_id="rf_1")
    other = event(4, S.REFUNDED, "6.00", seconds=4, movement_id="rf_2")
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
    played = Replay()
    for arrival in arrivals:
        if arrival.key in seen:
            continue  # a redelivery: the store finds it stored and applies nothing
        seen.add(arrival.key)
        before, movements = played.state, dict(played.movements)
        after = played.apply(replace(arrival, received_at=NOW))
        assert before is None or is_at_least(after, before)
        for key, movement in movements.items():  # each refund's own state only moves forward
            assert movement_is_at_least(played.movements[key], movement)
    in_order = replay(history)
    assert played.state is not None
    assert in_order.state is not None
    assert final(played.state) == final(in_order.state)
    assert played.movements == in_order.movements
    assert played.state.event_count == len(history)
    # Without a running total, refunded is exactly the sum of the live refunds.
    if played.state.refunds.total is None:
        assert played.state.refunded == played.live_refunds()


@settings(max_examples=200)
@given(history=histories())
def test_the_dimensions_text_is_the_codecs_text_and_reads_back_to_the_same_state(
    history: list[PaymentEvent],
) -> None:
    state, _ = run(history)
    text = dimensions_to_json(state)
    assert codec.loads(text) == codec.loads(codec.dumps(codec.loads(text)))
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
    assert replace(back, updated_at=state.updated_at) == state


# -- refunds with a life cycle, and running totals -----------------------------------------


def test_a_refund_and_the_charges_running_total_reporting_it_count_it_once() -> None:
    """refund.created (one refund) and charge.refunded (amount_refunded) both report it."""
    capture = event(1, S.SUCCEEDED, "20.00")
    refund = event(2, S.REFUNDED, "5.00", seconds=2, movement_id="re_1")
    total = event(3, S.REFUNDED, "20.00", seconds=2, refunded_total=Decimal("5.00"))
    for order in ([capture, refund, total], [capture, total, refund], [total, refund, capture]):
        state, _ = run(order)
        assert (state.status, state.refunded) == (
            TransactionStatus.PARTIALLY_REFUNDED,
            Decimal("5.00"),
        )


def test_a_refund_total_alone_counts_and_a_stale_one_changes_nothing() -> None:
    capture = event(1, S.SUCCEEDED, "20.00")
    partial = event(2, S.REFUNDED, "20.00", seconds=2, refunded_total=Decimal("5.00"))
    full = event(3, S.REFUNDED, "20.00", seconds=3, refunded_total=Decimal("20.00"))
    state, lates = run([capture, full, partial])
    assert (state.status, state.refunded, lates) == (
        TransactionStatus.REFUNDED,
        Decimal("20.00"),
        [False, False, True],
    )


def test_a_failed_refund_no_longer_counts_and_the_update_records_the_reversal() -> None:
    capture = event(1, S.SUCCEEDED, "10.00")
    refund = event(2, S.REFUNDED, "10.00", seconds=2, movement_id="re_1")
    failed = event(3, S.REFUND_FAILED, "10.00", seconds=9, movement_id="re_1")
    played = replay([capture, refund])
    transition = apply(played.state, failed, played.movements[("refund", "re_1")])
    assert transition.previous_status is TransactionStatus.REFUNDED
    assert transition.after.status is TransactionStatus.SUCCEEDED
    assert (transition.update.refunded, transition.update.refund_reversed) == (0, Decimal("10.00"))
    assert transition.movement is not None
    assert (transition.movement.status, transition.movement.live) == ("failed", False)


def test_a_refunds_earlier_report_delivered_after_its_failure_cannot_revive_it() -> None:
    """Even stamped later (two clocks disagree, or a sender without provider time): failed is
    an outcome, and a refund's own state only moves forward."""
    capture = event(1, S.SUCCEEDED, "10.00")
    failed = event(2, S.REFUND_FAILED, "4.00", seconds=3, movement_id="re_1")
    created = event(3, S.REFUNDED, "4.00", seconds=4, movement_id="re_1")
    pending = event(4, S.REFUND_PENDING, "4.00", seconds=5, movement_id="re_1")
    state, lates = run([capture, failed, created, pending])
    assert (state.status, state.refunded, lates) == (
        TransactionStatus.SUCCEEDED,
        0,
        [False, False, True, True],
    )


def test_every_capture_reported_one_by_one_failed_is_a_failed_payment() -> None:
    """Adyen: CAPTURE, then CAPTURE_FAILED for the same capture (the scheme rejected it)."""
    authorised = event(1, S.AUTHORIZED, "10.00")
    capture = event(2, S.SUCCEEDED, "10.00", seconds=1, movement_id="cp_1")
    failed = event(3, S.CAPTURE_FAILED, "10.00", seconds=2, movement_id="cp_1")
    state, _ = run([authorised, capture, failed])
    assert (state.status, state.captured, state.authorized) == (
        TransactionStatus.FAILED,
        0,
        Decimal("10.00"),
    )
    recaptured = event(4, S.SUCCEEDED, "10.00", seconds=3, movement_id="cp_2")
    state, _ = run([authorised, capture, failed, recaptured])
    assert (state.status, state.captured) == (TransactionStatus.SUCCEEDED, Decimal("10.00"))


def test_a_refund_that_fails_after_the_running_total_is_taken_off_it() -> None:
    """An integration that listens to charge.refunded and refund.failed: two refunds known only
    by the total (3.00, then 5.00 in all), then the first one fails. Stripe's amount_refunded
    is 2.00."""
    capture = event(1, S.SUCCEEDED, "10.00")
    first = event(2, S.REFUNDED, "10.00", seconds=1, refunded_total=Decimal("3.00"))
    second = event(3, S.REFUNDED, "10.00", seconds=2, refunded_total=Decimal("5.00"))
    failed = event(4, S.REFUND_FAILED, "3.00", seconds=9, movement_id="re_1")
    for order in ([capture, first, second, failed], [failed, second, capture, first]):
        state, _ = run(order)
        assert (state.status, state.refunded) == (
            TransactionStatus.PARTIALLY_REFUNDED,
            Decimal("2.00"),
        )
    # A refund reported after the total, and not failed, takes nothing off it.
    updated = event(5, S.REFUNDED, "3.00", seconds=9, movement_id="re_1")
    state, _ = run([capture, first, second, updated])
    assert state.refunded == Decimal("5.00")


def test_the_running_total_is_the_providers_word_where_it_is_the_newest_report() -> None:
    """A refund whose failure the integration never heard: the charge's later total says."""
    capture = event(1, S.SUCCEEDED, "20.00")
    failed_silently = event(2, S.REFUNDED, "10.00", seconds=1, movement_id="re_1")
    other = event(3, S.REFUNDED, "5.00", seconds=5, movement_id="re_2")
    total = event(4, S.REFUNDED, "20.00", seconds=5, refunded_total=Decimal("5.00"))
    state, _ = run([capture, failed_silently, other, total])
    assert state.refunded == Decimal("5.00")


def test_a_superseded_report_that_moves_the_amount_is_not_late() -> None:
    """A refund's pending report after its success changes no record, but, being newer than
    the running total, it makes the live refunds count: refunded moves, so it is not late."""
    capture = event(1, S.SUCCEEDED, "20.00")
    refund = event(2, S.REFUNDED, "8.00", seconds=1, movement_id="re_1")
    total = event(3, S.REFUNDED, "20.00", seconds=2, refunded_total=Decimal("5.00"))
    pending = event(4, S.REFUND_PENDING, "8.00", seconds=3, movement_id="re_1")
    state, lates = run([capture, refund, total])
    assert state.refunded == Decimal("5.00")
    state, lates = run([capture, refund, total, pending])
    assert (state.refunded, lates[-1]) == (Decimal("8.00"), False)


def test_the_refund_statuses_are_the_ones_the_life_cycle_counts_as_refunds() -> None:
    refunds = {status for status, (kind, _) in MOVEMENT_REPORTS.items() if kind == "refund"}
    assert refunds == REFUND_STATUSES
