"""Measures the Lambda handlers' CPU per invocation, warm, for ``bench.cost``: run as
``python -m bench.cost_probe RESULT.json`` with stdout discarded (the handlers log to it).

The AWS clients are real boto3 clients (so request building, signing and response parsing
count) whose HTTP sends are answered in-process with what the services answer: nothing leaves
the machine.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from bench.cold_start_probe import _Context
from webhook_processor.aws.bootstrap import AwsConfig, build_publisher, build_receiver
from webhook_processor.aws.handlers import publisher as publisher_handler
from webhook_processor.aws.handlers import receiver as receiver_handler
from webhook_processor.aws.items import serialize, to_item, transaction_item
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Sample
from webhook_processor.transactions import apply

SECRET = "whsec_bench_cost_0123456789abcdef"  # noqa: S105 - a benchmark fixture
CALLS = 300
SNS_REPLY = (
    b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
    b"<MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult>"
    b"<ResponseMetadata><RequestId>f187a3c1</RequestId></ResponseMetadata></PublishResponse>"
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _answer(request: Any, event_name: str, **_: Any) -> AWSResponse:
    operation = event_name.rsplit(".", 1)[-1]
    body = {
        "PutItem": b"{}",
        "GetItem": b"{}",  # no item yet: the first event of its transaction
        "TransactWriteItems": b"{}",
        "GetParameter": json.dumps(
            {"Parameter": {"Name": "x", "Type": "SecureString", "Value": SECRET, "Version": 1}}
        ).encode(),
        "Publish": SNS_REPLY,
    }[operation]
    return AWSResponse(request.url, 200, {}, _Raw(body))


def _session() -> boto3.Session:
    session = boto3.Session(
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - no request leaves the process
    )
    session.events.register("before-send", _answer)
    return session


def _cpu_per_call(call: Any, calls: int) -> float:
    call(0)  # warm: clients built, caches filled
    started = time.process_time()
    for n in range(1, calls + 1):
        call(n)
    return (time.process_time() - started) / calls


def main() -> None:
    config = AwsConfig(
        table_name="bench",
        topic_arn="arn:aws:sns:us-east-1:123456789012:bench",
        publish_failures_url="https://sqs.us-east-1.amazonaws.com/123456789012/bench-failures",
    )
    stripe = default_providers()["stripe"]
    now = datetime.now(UTC)
    receiver = receiver_handler.create_handler(lambda: build_receiver(config, _session()))
    publisher = publisher_handler.create_handler(lambda: build_publisher(config, _session()))
    context: Any = _Context()
    events = []
    items = []
    for n in range(CALLS + 1):
        event_id = f"evt_{n:08d}"
        body = stripe.sample(Sample(event_id, Decimal("19.99"), "USD", "succeeded", now))
        signed = stripe.sign(body, SECRET, now, event_id)
        events.append(
            {
                "rawPath": "/webhooks/stripe",
                "headers": {**signed.headers, "content-type": "application/json"},
                "body": signed.body.decode(),
                "requestContext": {"http": {"method": "POST"}, "domainName": "x"},
            }
        )
        parsed = stripe.parse(
            receiver_handler.WebhookRequest.build("stripe", signed.headers, signed.body, now),
            SECRET,
            now + timedelta(seconds=1),
        )[0]
        transition = apply(None, parsed)
        stored = replace(parsed, transaction=transition.update)
        items.append((to_item(stored), transaction_item(transition.after, stored)))

    def receive(n: int) -> None:
        assert receiver(events[n], context)["statusCode"] == 200

    def publish(n: int, which: int = 1) -> None:
        record = {
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": str(n), "NewImage": serialize(items[n][which])},
        }
        assert publisher({"Records": [record]}, context) == {"batchItemFailures": []}

    event, transaction = items[0]
    result = {
        "receiver_cpu_s": _cpu_per_call(receive, CALLS),
        "publisher_cpu_s": _cpu_per_call(publish, CALLS),
        # An event item's record, which the publisher ignores: what an unfiltered stream
        # mapping invoked it for.
        "publisher_ignoring_cpu_s": _cpu_per_call(lambda n: publish(n, 0), CALLS),
        # As DynamoDB holds them (typed values), for their sizes.
        "event_item": serialize(event),
        "transaction_item": serialize(transaction),
        # The transaction item as it was before its last event left out what it holds, and
        # before it left the recency index (its key there: shard and update time).
        "transaction_item_before": serialize(
            {
                **transaction,
                "last_event": event,
                "recent_shard": "transaction#0",
                "recent_key": f"{transaction['updated_at']}#{transaction['pk']}",
            }
        ),
    }
    with open(sys.argv[1], "w") as out:
        json.dump(result, out, default=str)


if __name__ == "__main__":
    main()
