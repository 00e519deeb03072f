"""The table's items as DynamoDB bills them: a transaction item carries its last event without
what it holds already, reads it back whole, and stays within one write unit."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from bench.cost import item_bytes
from tests.support.builders import NOW, make_event
from webhook_processor.aws.items import (
    TABLE_KEYS,
    published_event,
    serialize,
    to_item,
    transaction_item,
)
from webhook_processor.model import PaymentEvent
from webhook_processor.transactions import TransactionState, apply

WRITE_UNIT = 1024


def _history() -> list[PaymentEvent]:
    """A transaction's life with every kind of update: late, partial and whole refunds, a
    refund that fails (a reversal), a dispute lost."""
    later = NOW + timedelta(minutes=1)
    return [
        make_event(
            "evt_auth", status="authorized", event_type="payment_intent.amount_capturable_updated"
        ),
        make_event("evt_paid", occurred_at=later, captured=Decimal("19.99")),
        make_event("evt_late", status="pending", event_type="payment_intent.processing"),
        make_event(
            "evt_re_1",
            status="refunded",
            event_type="refund.created",
            amount=Decimal("5.00"),
            movement_id="re_1",
            occurred_at=later + timedelta(minutes=1),
        ),
        make_event(
            "evt_re_1_failed",
            status="refund_failed",
            event_type="refund.failed",
            amount=Decimal("5.00"),
            movement_id="re_1",
            occurred_at=later + timedelta(minutes=2),
        ),
        make_event(
            "evt_dispute",
            status="disputed",
            event_type="charge.dispute.created",
            occurred_at=later + timedelta(minutes=3),
        ),
        make_event(
            "evt_lost",
            status="dispute_lost",
            event_type="charge.dispute.closed",
            occurred_at=later + timedelta(minutes=4),
            metadata={},
            customer_id=None,
            payment_method=None,
        ),
    ]


def _stored() -> list[tuple[TransactionState, PaymentEvent]]:
    state: TransactionState | None = None
    movements: dict[str, object] = {}
    applied = []
    for event in _history():
        transition = apply(state, event, movements.get(event.movement_id or ""))  # type: ignore[arg-type]
        if transition.movement is not None:
            movements[transition.movement.movement_id] = transition.movement
        state = transition.after
        applied.append((state, replace(event, transaction=transition.update)))
    return applied


def test_the_stream_reads_every_transaction_update_back_exactly_as_it_was_stored() -> None:
    stored = _stored()
    updates = {event.transaction for _, event in stored if event.transaction is not None}
    assert any(update.late for update in updates)
    assert any(update.refund_reversed for update in updates)
    assert len({update.previous_status for update in updates}) >= 4
    for state, event in stored:
        published = published_event(transaction_item(state, event))
        assert published == event, event.event_id
        # An event's equality leaves its update out: compared on its own.
        assert published is not None
        assert published.transaction == event.transaction, event.event_id


def test_the_last_event_leaves_out_what_the_transaction_item_holds() -> None:
    state, event = _stored()[1]
    last = transaction_item(state, event)["last_event"]
    assert not {"pk", "kind", "provider", "transaction_id", "occurred_key", "recent_key"} & set(
        last
    )
    assert not {"txn_status", "txn_amount", "txn_version", "txn_currency"} & set(last)
    assert {"txn_previous_status", "txn_late", "txn_refund_reversed"} <= set(last)


def test_a_transaction_item_is_in_no_index_and_an_event_in_both() -> None:
    """An item is in a global secondary index only if it has all of the index's key
    attributes. A transaction's ``by_recency`` key would move with each event (two index
    writes): it has none."""
    state, event = _stored()[1]

    def indexes_of(item: dict[str, object]) -> list[str]:
        return [
            index["IndexName"]
            for index in TABLE_KEYS["GlobalSecondaryIndexes"]
            if all(key["AttributeName"] in item for key in index["KeySchema"])
        ]

    assert indexes_of(transaction_item(state, event)) == []
    assert indexes_of(to_item(event)) == ["by_transaction", "by_recency"]


def test_a_first_event_and_its_transaction_are_one_write_unit_each() -> None:
    """The sample a webhook's cost is counted on (bench/cost.py): 1 KB each."""
    state, event = _stored()[1]
    assert item_bytes(serialize(to_item(event))) <= WRITE_UNIT
    assert item_bytes(serialize(transaction_item(state, event))) <= WRITE_UNIT


@pytest.mark.parametrize(
    "index", TABLE_KEYS["GlobalSecondaryIndexes"], ids=lambda i: i["IndexName"]
)
def test_the_indexes_hold_keys_only(index: dict[str, object]) -> None:
    """An entry of keys is one write unit whatever its item's size; the listings read items
    from the table."""
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
