"""Out-of-order scenarios with every provider's payloads, on both platforms: what each step
answers and where the transaction stands after it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from tests.integration.test_lambda import Deployed, url_event
from tests.support.aws import TABLE
from tests.support.loopback import post
from tests.support.scenarios import SCENARIOS, TRANSACTION, Scenario, deliveries, scenarios_of
from webhook_processor.aws.dynamodb import DynamoDBStore
from webhook_processor.local.bootstrap import LocalProcessor
from webhook_processor.local.server import create_app
from webhook_processor.providers import default_providers
from webhook_processor.transactions import TransactionState

CASES = [
    (provider, name) for provider in sorted(default_providers()) for name in scenarios_of(provider)
]


@pytest.mark.parametrize(("provider", "scenario"), CASES)
def test_on_the_local_server(processor: LocalProcessor, provider: str, scenario: str) -> None:
    expected = SCENARIOS[scenario]
    seen = []
    with TestClient(create_app(processor, run_dispatcher=False)) as client:
        for delivery in deliveries(provider, expected):
            assert post(client, provider, delivery.body, delivery.headers).status_code == 200
            state = processor.store.transaction(provider, TRANSACTION)
            assert state is not None
            seen.append(state)
    assert_played(provider, expected, seen)


@pytest.mark.parametrize(("provider", "scenario"), CASES)
def test_on_the_lambda_receiver(deployed: Deployed, provider: str, scenario: str) -> None:
    expected = SCENARIOS[scenario]
    store = DynamoDBStore(TABLE, deployed.session.client("dynamodb"))
    seen = []
    for delivery in deliveries(provider, expected):
        status, _ = deployed.receive(url_event(provider, delivery.body, delivery.headers))
        assert status == 200
        state = store.transaction(provider, TRANSACTION)
        assert state is not None
        seen.append(state)
    assert_played(provider, expected, seen)


def assert_played(provider: str, expected: Scenario, seen: list[TransactionState]) -> None:
    """The transaction after each step, and at the end, is what the scenario says."""
    assert tuple(state.status for state in seen) == expected.statuses
    last = seen[-1]
    assert last.refunded == Decimal(expected.refunded)
    if expected.captured is not None:
        assert last.captured == Decimal(expected.captured)
    if expected.authorized is not None:
        assert last.authorized == Decimal(expected.authorized)
    assert last.late_count == expected.late
    assert last.event_count == len({d.event_id for d in deliveries(provider, expected)})


def test_a_filter_policy_can_subscribe_to_became_refunded(deployed: Deployed) -> None:
    sqs, sns = deployed.session.client("sqs"), deployed.session.client("sns")
    url = sqs.create_queue(QueueName="refunds")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=deployed.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"transaction_status": ["refunded"]}),
        },
    )
    for delivery in deliveries("stripe", SCENARIOS["two partial refunds"]):
        assert deployed.receive(url_event("stripe", delivery.body, delivery.headers))[0] == 200
    assert deployed.publish(deployed.stream_records()) == {"batchItemFailures": []}
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(message["Body"], parse_float=Decimal)
    assert (envelope["event_id"], envelope["transaction"]["status"]) == ("evt_scn2", "refunded")
    assert envelope["transaction"]["previous_status"] == "partially_refunded"
    assert envelope["transaction"]["refunded"] == Decimal("10.00")
