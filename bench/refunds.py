"""10,000 refunds on one transaction, locally and on AWS (moto): storing an event must cost the
same whatever the transaction's history (goal: the last events' time within x2 of the first's).

Each refund is a ``refund.created`` with a 255-character refund id, signed as Stripe signs,
delivered to the local server's app (SQLite, fsync'd) and to the Lambda receiver's handler (a
DynamoDB table in moto, which enforces the 400 KB item limit). Every answer must be a 2xx. The
ratio compares the median time of the last 500 deliveries with that of the first 500 (after a
warm-up payment); the largest item in the table and the largest transaction row are printed.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Sample

REFUNDS = int(os.environ.get("BENCH_REFUNDS", "10000"))
GOAL = 2.0
WINDOW = 500
#: On moto, each TransactWriteItems copies the whole table: fewer deliveries, the same medians.
AWS_WINDOW = 30
SECRET = "whsec_bench_refunds_0123456789abcdef"  # noqa: S105 - a benchmark fixture
INTENT = "pi_bench_refunds"
_STRIPE: Final = default_providers()["stripe"]


def _deliveries(count: int) -> list[bytes]:
    """The payment, then ``count`` refunds of one cent, each with a 255-character id:
    unsigned bodies (each is signed as it is sent, so no signature grows stale)."""
    stripe, now = _STRIPE, datetime.now(UTC)
    payment = Sample("evt_payment", Decimal(count), "USD", "succeeded", now, transaction_id=INTENT)
    specs = [payment] + [
        Sample(
            f"evt_r{n:06d}",
            Decimal("0.01"),
            "USD",
            "refunded",
            now,
            transaction_id=INTENT,
            movement_id=f"re_{n:06d}".ljust(255, "x"),
        )
        for n in range(count)
    ]
    return [stripe.sample(spec) for spec in specs]


def _signed(body: bytes) -> tuple[bytes, dict[str, str]]:
    signed = _STRIPE.sign(body, SECRET, datetime.now(UTC), "")
    return signed.body, {**signed.headers, "content-type": "application/json"}


def _timed(deliver: Callable[[bytes, dict[str, str]], int], deliveries: list[Any]) -> list[float]:
    seconds = []
    for unsigned in deliveries:
        body, headers = _signed(unsigned)
        started = time.perf_counter()
        status = deliver(body, headers)
        seconds.append(time.perf_counter() - started)
        if not 200 <= status < 300:
            raise AssertionError(f"answered {status}")
    return seconds


def _local(deliveries: list[Any]) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from webhook_processor.local.bootstrap import LocalConfig, build_local
    from webhook_processor.local.server import create_app

    with tempfile.TemporaryDirectory() as directory:
        processor = build_local(
            LocalConfig(data_dir=Path(directory)), environ={"WEBHOOK_SECRET_STRIPE": SECRET}
        )
        try:
            with TestClient(create_app(processor, run_dispatcher=False)) as client:

                def deliver(body: bytes, headers: dict[str, str]) -> int:
                    return client.post(
                        "/webhooks/stripe", content=body, headers=headers
                    ).status_code

                seconds = _timed(deliver, deliveries)
            state = processor.store.transaction("stripe", INTENT)
            conn = processor.store.connect()  # type: ignore[attr-defined]
            largest = conn.execute("SELECT MAX(LENGTH(dimensions)) FROM transactions").fetchone()[0]
            conn.close()
        finally:
            processor.close()
    return {"seconds": seconds, "refunded": state.refunded if state else None, "row": largest}


def _aws(deliveries: list[Any]) -> dict[str, Any]:
    """The payment and the first WINDOW refunds delivered; the refunds up to the last WINDOW
    stored as the receiver stores them (each movement's item, the transaction's item as the
    core computes it) in one batch; the last WINDOW delivered. moto's TransactWriteItems deep-
    copies the whole table on every call, so its time grows with the table whatever the code
    does: the figure DynamoDB bills and limits, the bytes of each event's requests, is the
    one judged here."""
    import boto3
    from moto import mock_aws

    from bench.cold_start_probe import _Context
    from webhook_processor.aws import items
    from webhook_processor.aws.bootstrap import AwsConfig, build_receiver
    from webhook_processor.aws.dynamodb import DynamoDBStore
    from webhook_processor.aws.handlers import receiver as receiver_handler
    from webhook_processor.model import WebhookRequest
    from webhook_processor.transactions import apply, movement_key

    sent: list[int] = []
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.events.register(
            "before-send.dynamodb", lambda request, **_: sent.append(len(request.body or b""))
        )
        client = session.client("dynamodb")
        client.create_table(TableName="bench", BillingMode="PAY_PER_REQUEST", **items.TABLE_KEYS)
        config = AwsConfig(table_name="bench", topic_arn="arn:aws:sns:us-east-1:1:bench")
        session.client("ssm").put_parameter(
            Name=f"{config.secrets_path}/stripe", Value=SECRET, Type="SecureString"
        )
        receiver = receiver_handler.create_handler(lambda: build_receiver(config, session))
        context: Any = _Context()
        store = DynamoDBStore("bench", client)
        sizes: list[int] = []

        def deliver(body: bytes, headers: dict[str, str]) -> int:
            before = len(sent)
            event = {
                "rawPath": "/webhooks/stripe",
                "headers": headers,
                "body": body.decode(),
                "requestContext": {"http": {"method": "POST"}, "domainName": "x"},
            }
            status = int(receiver(event, context)["statusCode"])
            sizes.append(sum(sent[before:]))
            return status

        head, middle, tail = (
            deliveries[: 1 + AWS_WINDOW],
            deliveries[1 + AWS_WINDOW : -AWS_WINDOW],
            deliveries[-AWS_WINDOW:],
        )
        seconds = _timed(deliver, head)
        # The middle refunds, stored as the receiver would have stored them.
        stripe, now = _STRIPE, datetime.now(UTC)
        state = store.transaction("stripe", INTENT)
        puts = []
        for unsigned in middle:
            body, headers = _signed(unsigned)
            [event] = stripe.parse(WebhookRequest.build("stripe", headers, body, now), SECRET, now)
            assert movement_key(event) is not None
            transition = apply(state, event)
            state = transition.after
            assert transition.movement is not None
            puts.append(items.movement_item("stripe", INTENT, transition.movement))
        assert state is not None
        puts.append(items.transaction_item(state, event))
        for start in range(0, len(puts), 25):
            requests = [
                {"PutRequest": {"Item": items.serialize(i)}} for i in puts[start : start + 25]
            ]
            client.batch_write_item(RequestItems={"bench": requests})
        seconds += [0.0] * len(middle) + _timed(deliver, tail)
        final = store.transaction("stripe", INTENT)
        largest = max(
            len(json.dumps(item))  # its attributes as DynamoDB JSON: above its billed size
            for page in client.get_paginator("scan").paginate(TableName="bench")
            for item in page["Items"]
        )
    return {
        "seconds": seconds,
        "bytes": sizes,
        "refunded": final.refunded if final else None,
        "refunds": final.refunds.count if final else None,
        "item": largest,
    }


def _ratio(seconds: list[float], window: int = WINDOW) -> tuple[float, float, float]:
    first = statistics.median(seconds[1 : 1 + window])
    last = statistics.median(seconds[-window:])
    return first, last, last / first


def main() -> dict[str, Any]:
    print(f"{REFUNDS:,} refunds of one transaction (255-character ids), goal x{GOAL}")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "bench")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    deliveries = _deliveries(REFUNDS)
    results: dict[str, Any] = {}
    local = _local(deliveries)
    first, last, ratio = _ratio(local["seconds"])
    print(
        f"  local  time per event: first {first * 1e3:.2f} ms, last {last * 1e3:.2f} ms,"
        f" x{ratio:.2f} {'ok' if ratio <= GOAL else 'OVER GOAL'};"
        f" refunded {local['refunded']}; largest transaction row {local['row']:,} B"
    )
    results["local"] = {"first_ms": first * 1e3, "last_ms": last * 1e3, "ratio": ratio}
    results["local"] |= {"refunded": local["refunded"], "largest_row_bytes": local["row"]}
    aws = _aws(deliveries)
    first_b, last_b, ratio_b = _ratio([float(b) for b in aws["bytes"]], AWS_WINDOW)
    first, last, time_ratio = _ratio(aws["seconds"], AWS_WINDOW)
    print(
        f"  aws    bytes sent to DynamoDB per event: first {first_b:,.0f}, last {last_b:,.0f},"
        f" x{ratio_b:.2f} {'ok' if ratio_b <= GOAL else 'OVER GOAL'};"
        f" refunded {aws['refunded']} in {aws['refunds']:,} refunds;"
        f" largest item ~{aws['item']:,} B"
    )
    print(
        f"         time per event on moto: first {first * 1e3:.1f} ms, last {last * 1e3:.1f} ms"
        f" (x{time_ratio:.2f}: moto copies the whole table on every TransactWriteItems)"
    )
    results["aws"] = {"first_bytes": first_b, "last_bytes": last_b, "ratio": ratio_b}
    results["aws"] |= {"first_ms": first * 1e3, "last_ms": last * 1e3}
    results["aws"] |= {"refunded": aws["refunded"], "largest_item_bytes": aws["item"]}
    return results


if __name__ == "__main__":
    main()
