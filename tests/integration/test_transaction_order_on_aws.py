"""On AWS, a transaction's state survives any delivery order, and its subscribers get its
updates in the order they were applied.

Events of one transaction are stored by two receivers (two containers, as under load), in any
order and with redeliveries; their items land on different stream shards. The publisher reads
the table's stream in batches from two shards, interleaved as Lambda may run them; only the
transaction item's records are publications, and DynamoDB keeps one item's records on one
shard, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.integration.test_lambda import Context
from tests.support.aws import TABLE, create_table, read_stream
from tests.support.histories import deliveries, final, histories, replay
from webhook_processor.aws.dynamodb import DynamoDBStore
from webhook_processor.aws.handlers import publisher as publisher_handler
from webhook_processor.aws.handoff import FailureQueue
from webhook_processor.aws.publications import Publications
from webhook_processor.aws.stream import StreamPublisher
from webhook_processor.model import PaymentEvent
from webhook_processor.publishing.memory import MemorySink
from webhook_processor.transactions import TransactionState


def in_order(history: list[PaymentEvent]) -> TransactionState:
    state = replay(history).state
    assert state is not None
    return state


def batches(records: list[dict[str, object]], data: st.DataObject) -> Iterator[list[object]]:
    """The stream as Lambda reads it: the event items' records spread over two shards, the
    transaction item's on one; batches of any size, the two shards' interleaved."""
    shards: list[list[dict[str, object]]] = [[], []]
    for record in records:
        image = record["dynamodb"]["NewImage"]  # type: ignore[index]
        transaction_shard = 0
        shard = (
            transaction_shard
            if image["kind"]["S"] == "transaction"
            else data.draw(st.integers(0, 1))
        )
        shards[shard].append(record)
    while any(shards):
        shard = data.draw(st.sampled_from([n for n in (0, 1) if shards[n]]))
        size = data.draw(st.integers(1, len(shards[shard])))
        yield list(shards[shard][:size])
        del shards[shard][:size]


# Many examples through code other tests cover: run untraced (the coverage floor holds without).
@pytest.mark.untraced
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(max_events=6), data=st.data())
def test_any_delivery_order_on_two_receivers_is_published_in_applied_order_and_ends_in_order(
    history: list[PaymentEvent], data: st.DataObject
) -> None:
    with mock_aws():
        session = boto3.Session()
        create_table(session)
        receivers = [DynamoDBStore(TABLE, session.client("dynamodb")) for _ in range(2)]
        for arrival in data.draw(deliveries(history)):
            data.draw(st.sampled_from(receivers)).insert_all([arrival])

        sink = MemorySink()
        queue = session.client("sqs").create_queue(QueueName="publish-failures")["QueueUrl"]
        publisher = StreamPublisher(
            sink,
            Publications(TABLE, session.client("dynamodb")),
            FailureQueue(queue, session.client("sqs")),
            handoff_after=timedelta(hours=1),
        )
        publish = publisher_handler.create_handler(lambda: publisher)
        arn = session.client("dynamodb").describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        records = read_stream(session.client("dynamodbstreams"), arn)
        for batch in batches(records, data):
            assert publish({"Records": batch}, Context()) == {"batchItemFailures": []}

        stored = receivers[0].transaction("stripe", "pi_1")
    assert stored is not None
    assert final(stored) == final(in_order(history))
    # Every event applied exactly once, whatever was redelivered, and published once, in the
    # order it was applied.
    updates = [event.transaction for event in sink.published]
    assert [update.version for update in updates if update is not None] == list(
        range(1, len(history) + 1)
    )
    assert sorted(event.event_id for event in sink.published) == sorted(
        event.event_id for event in history
    )
    last = sink.published[-1].transaction
    assert last is not None
    assert (last.status, last.refunded) == (stored.status, stored.refunded)
    assert (last.authorized, last.captured, last.disputed) == (
        stored.authorized,
        stored.captured,
        stored.disputed,
    )
