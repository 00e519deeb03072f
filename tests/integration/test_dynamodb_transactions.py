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

from tests.aws import TABLE, create_table
from tests.builders import NOW, make_event
from webhook_processor.aws.dynamodb import DynamoDBStore
from webhook_processor.model import TransactionStatus


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    with mock_aws():
        session = boto3.Session()
        create_table(session)
        yield session


def store(session: boto3.Session) -> DynamoDBStore:
    return DynamoDBStore(TABLE, session.client("dynamodb"))


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
    timeline = {e.event_id: e.transaction for e in events.events_for_transaction("pi_1")}
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
    for n in range(12):
        events.insert_all(
            [make_event(f"evt_{n}", transaction_id=f"pi_{n}", received_at=NOW + timedelta(n))]
        )
    queries: list[dict[str, Any]] = []
    client = session.client("dynamodb")
    client.meta.events.register(
        "before-parameter-build.dynamodb", lambda params, **_: queries.append(params)
    )
    listed = DynamoDBStore(TABLE, client)
    assert [e.event_id for e in listed.recent_events(3)] == ["evt_11", "evt_10", "evt_9"]
    assert [t.transaction_id for t in listed.transactions(2)] == ["pi_11", "pi_10"]
    assert {q["IndexName"] for q in queries} == {"by_recency"}
    assert all(q["Limit"] <= 3 for q in queries)
