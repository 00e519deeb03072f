"""Transactions on DynamoDB: applied in the same TransactWriteItems as their event, without a
race, and listed through an index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.aws import TABLE, create_table
from tests.support.builders import NOW, make_event
from tests.support.stores import recent_transactions
from webhook_processor.aws import items
from webhook_processor.aws.dynamodb import DynamoDBStore
from webhook_processor.errors import InvalidParameter
from webhook_processor.model import TransactionStatus
from webhook_processor.storage.paging import EventFilter, TransactionFilter


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    with mock_aws():
        session = boto3.Session()
        create_table(session)
        yield session


def store(session: boto3.Session) -> DynamoDBStore:
    return DynamoDBStore(TABLE, session.client("dynamodb"))


def recorded(session: boto3.Session, event: str) -> tuple[DynamoDBStore, list[dict[str, Any]]]:
    """A store on a client of its own, and the parameters of each request it makes that
    botocore's ``event`` (a parameter-build event) names."""
    client = session.client("dynamodb")
    requests: list[dict[str, Any]] = []
    client.meta.events.register(event, lambda params, **_: requests.append(params))
    return DynamoDBStore(TABLE, client), requests


def receive_in_order(events: DynamoDBStore, transactions: list[str]) -> None:
    """Store ``evt_0``, ``evt_1``, ... of those transactions, each received a day after the
    one before it."""
    for n, transaction in enumerate(transactions):
        events.insert_all(
            [make_event(f"evt_{n}", transaction_id=transaction, received_at=NOW + timedelta(n))]
        )


def test_each_stored_event_carries_what_it_did_to_its_transaction(
    session: boto3.Session,
) -> None:
    events = store(session)
    assert events.insert_all(
        [
            make_event("evt_1", status="succeeded", amount=Decimal("10.00")),
            make_event("evt_2", status="refunded", amount=Decimal("4.00"), received_at=NOW),
            make_event("evt_3", status="pending", occurred_at=NOW - timedelta(seconds=9)),
        ]
    ) == [True, True, True]
    timeline = {e.event_id: e.transaction for e in events.timeline(None, "pi_1")}
    assert timeline["evt_2"] is not None
    assert (timeline["evt_2"].status, timeline["evt_2"].refunded) == (
        TransactionStatus.PARTIALLY_REFUNDED,
        Decimal("4.00"),
    )
    assert timeline["evt_3"] is not None
    assert timeline["evt_3"].late
    state = events.transaction("stripe", "pi_1")
    assert state is not None
    assert (state.status, state.version, state.event_count, state.late_count) == (
        TransactionStatus.PARTIALLY_REFUNDED,
        3,
        3,
        1,
    )


def test_a_redelivery_applies_nothing(session: boto3.Session) -> None:
    events = store(session)
    refund = make_event("evt_1", status="refunded", amount=Decimal("4.00"))
    assert events.insert_all([refund, refund]) == [True, False]
    state = events.transaction("stripe", "pi_1")
    assert state is not None
    assert (state.refunded, state.version) == (Decimal("4.00"), 1)


def test_an_event_of_the_same_transaction_stored_between_the_read_and_the_write_wins_the_race_and_is_not_lost(
    session: boto3.Session,
) -> None:
    """Two receivers, one transaction: the second write finds the version moved and re-applies."""
    events, rival = store(session), store(session)
    client = session.client("dynamodb")
    raced: list[bool] = []

    def rival_writes_first(**_: Any) -> None:
        if not raced:
            raced.append(rival.insert_all([make_event("evt_rival", status="refunded")])[0])

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", rival_writes_first)
    contested = DynamoDBStore(TABLE, client)
    assert contested.insert_all([make_event("evt_1", status="succeeded")]) == [True]
    assert raced == [True]
    state = events.transaction("stripe", "pi_1")
    assert state is not None
    assert (state.version, state.event_count, state.status) == (
        2,
        2,
        TransactionStatus.REFUNDED,
    )


def test_the_latest_events_and_transactions_are_listed_through_the_recency_index(
    session: boto3.Session,
) -> None:
    events = store(session)
    receive_in_order(events, [f"pi_{n}" for n in range(12)])
    listed, queries = recorded(session, "before-parameter-build.dynamodb")
    first = listed.event_page(EventFilter(), None, 3)
    assert [e.event_id for e in first.items] == ["evt_11", "evt_10", "evt_9"]
    assert [t.transaction_id for t in recent_transactions(listed, 2)] == ["pi_11", "pi_10"]
    queried = [q for q in queries if "IndexName" in q]
    assert all(q["Limit"] <= 3 for q in queried)
    # The indexes hold keys: a page's items are read from the table, no more than the page
    # (the transactions' page reads its events, then their transactions).
    reads = [q["RequestItems"][TABLE]["Keys"] for q in queries if "RequestItems" in q]
    assert [len(keys) for keys in reads] == [3, 2, 2]
    # The next page continues after the cursor, through the same index; the last one ends.
    second = listed.event_page(EventFilter(), first.next, 3)
    assert [e.event_id for e in second.items] == ["evt_8", "evt_7", "evt_6"]
    rest = listed.transaction_page(TransactionFilter(), None, 10)
    after = listed.transaction_page(TransactionFilter(), rest.next, 10)
    assert [t.transaction_id for t in after.items] == ["pi_1", "pi_0"]
    assert after.next is None
    assert {q["IndexName"] for q in queries if "IndexName" in q} == {"by_recency"}


def test_a_transaction_is_listed_once_at_its_last_event_and_has_no_index_entry(
    session: boto3.Session,
) -> None:
    events = store(session)
    order = ["pi_a", "pi_b", "pi_c", "pi_a", "pi_b"]  # received in this order
    receive_in_order(events, order)
    first = events.transaction_page(TransactionFilter(), None, 2)
    assert [t.transaction_id for t in first.items] == ["pi_b", "pi_a"]
    assert [t.last_event_id for t in first.items] == ["evt_4", "evt_3"]
    rest = events.transaction_page(TransactionFilter(), first.next, 2)
    assert [t.transaction_id for t in rest.items] == ["pi_c"]
    assert rest.next is None
    # No transaction item is in an index: its key would move, two index writes, each event.
    client = session.client("dynamodb")
    for index in (items.RECENCY_INDEX, items.TRANSACTION_INDEX):
        entries = client.scan(TableName=TABLE, IndexName=index)["Items"]
        assert entries, index
        assert not [e for e in entries if e["pk"]["S"].startswith(items.TRANSACTION_PREFIX)]


def test_a_page_of_transactions_reads_a_bounded_number_of_events(
    session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One busy transaction's events fill the latest pages: a page of transactions stops after
    TRANSACTION_ROUNDS pages of events, short, with the cursor to go on."""
    monkeypatch.setattr("webhook_processor.aws.dynamodb.TRANSACTION_ROUNDS", 2)
    events = store(session)
    order = ["pi_quiet"] + ["pi_busy"] * 6
    receive_in_order(events, order)
    listed, queries = recorded(session, "before-parameter-build.dynamodb.Query")
    first = listed.transaction_page(TransactionFilter(), None, 2)
    assert [t.transaction_id for t in first.items] == ["pi_busy"]
    assert first.next is not None
    assert len(queries) == 2 * items.RECENCY_SHARDS  # two pages of events, a query per shard
    rest = listed.transaction_page(TransactionFilter(), first.next, 2)
    assert [t.transaction_id for t in rest.items] == ["pi_quiet"]
    assert rest.next is None


def test_the_table_refuses_a_listing_it_has_no_index_for(session: boto3.Session) -> None:
    listed = store(session)
    with pytest.raises(InvalidParameter, match="unfiltered"):
        listed.event_page(EventFilter(provider="stripe"), None, 10)
    with pytest.raises(InvalidParameter, match="unfiltered"):
        listed.transaction_page(TransactionFilter(status="refunded"), None, 10)
    with pytest.raises(InvalidParameter, match="not one this listing gave"):
        listed.event_page(EventFilter(), "bogus", 10)


def test_a_movements_item_key_cannot_be_another_transactions() -> None:
    """Ids may hold ``#``: the transaction id's length is in the key."""
    assert items.movement_key("generic", "A#refund#B", "refund", "C") != items.movement_key(
        "generic", "A", "refund", "B#refund#C"
    )
