"""Cost per million webhooks on AWS, from the handlers' CPU measured in this run.

The receiver and the publisher run warm in a subprocess (``bench.cost_probe``) with real boto3
clients answered in-process, in a Lambda-like environment with the X-Ray tracer on. Billed
duration is that CPU time at the configured memory's share of a vCPU (Lambda gives a full
vCPU at 1,769 MB) plus the time spent waiting on AWS, which this machine cannot measure and
is an assumption below. The CPU is this machine's, not a Graviton's.

Prices: US East (N. Virginia), on-demand, as published on the date in ``PRICES_DATE``:

* Lambda arm64: $0.0000133334 per GB-second (first 7.5 billion GB-s a month), $0.20 per
  million requests (aws.amazon.com/lambda/pricing). A Function URL adds no charge of its own:
  its requests are billed as Lambda requests and duration.
* DynamoDB on demand: $0.625 per million write request units and $0.125 per million read
  request units (aws.amazon.com/dynamodb/pricing/on-demand; the November 2024 price cut). An
  event is stored by one consistent GetItem of its transaction (1 read unit per 4 KB) and one
  TransactWriteItems of the event and the transaction (2 write units per 1 KB of each item,
  transactional writes cost double), and each item is also written to every index whose keys
  it has (1 unit per 1 KB; both indexes project all attributes). Counted for the first event
  of a transaction; a later event's index update of a changed key costs a delete and a put.
* DynamoDB Streams: GetRecords calls made by a Lambda trigger are not charged
  (docs.aws.amazon.com, DynamoDB developer guide, "Evaluate your DynamoDB streams usage").
* SNS standard topics: $0.50 per million publish requests, each 64 KB of payload one request
  (aws.amazon.com/sns/pricing); deliveries depend on the subscribers and are not counted.

Not counted: CloudWatch Logs ingestion, X-Ray traces, KMS requests, data transfer, and the
free tiers.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.cold_start import ENV
from webhook_processor.aws.items import TABLE_KEYS

PRICES_DATE = "2026-11-29"
MEMORY_MB = 1024  # the functions' configured memory (infra: lambdaMemoryMb)
FULL_VCPU_MB = 1769
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS = 0.20
DYNAMODB_PER_MILLION_WRU = 0.625
DYNAMODB_PER_MILLION_RRU = 0.125
SNS_PER_MILLION_PUBLISHES = 0.50
#: Assumed waits on AWS per invocation (not measurable here), each call a few milliseconds
#: from inside the region: the receiver's GetItem and TransactWriteItems, the publisher's Publish.
DYNAMODB_WAIT_S = 0.010
SNS_WAIT_S = 0.010


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names plus values (a number about one byte per
    two digits plus one)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, int | float | Decimal) or name == "amount":
            size += len(str(value).replace(".", "").lstrip("0")) // 2 + 2
        else:
            size += len(str(value).encode())
    return size


def _indexes(item: dict[str, Any]) -> int:
    """How many of the table's indexes an item is written to: those whose keys it has."""
    return sum(
        all(key["AttributeName"] in item for key in index["KeySchema"])
        for index in TABLE_KEYS["GlobalSecondaryIndexes"]
    )


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        result_path = Path(directory) / "cost.json"
        subprocess.run(
            [sys.executable, "-m", "bench.cost_probe", str(result_path)],
            env=ENV,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        measured = json.loads(result_path.read_text())
    share = MEMORY_MB / FULL_VCPU_MB
    gb = MEMORY_MB / 1024
    receiver_s = measured["receiver_cpu_s"] / share + DYNAMODB_WAIT_S
    publisher_s = measured["publisher_cpu_s"] / share + SNS_WAIT_S
    event_kb, txn_kb = (
        math.ceil(item_bytes(measured[name]) / 1024) for name in ("event_item", "transaction_item")
    )
    written = 2 * (event_kb + txn_kb)
    indexed = event_kb * _indexes(measured["event_item"]) + txn_kb * _indexes(
        measured["transaction_item"]
    )
    read = math.ceil(item_bytes(measured["transaction_item"]) / 4096)
    lines = {
        "Lambda requests (receiver + publisher, one record a batch)": 2
        * LAMBDA_PER_MILLION_REQUESTS,
        "Lambda duration, receiver": receiver_s * gb * LAMBDA_GB_SECOND * 1e6,
        "Lambda duration, publisher": publisher_s * gb * LAMBDA_GB_SECOND * 1e6,
        "Function URL": 0.0,
        f"DynamoDB read of the transaction ({read} RRU)": read * DYNAMODB_PER_MILLION_RRU,
        f"DynamoDB transactional write of event + transaction ({written} WRU)": written
        * DYNAMODB_PER_MILLION_WRU,
        f"DynamoDB index writes ({indexed} WRU)": indexed * DYNAMODB_PER_MILLION_WRU,
        "DynamoDB Streams reads by the Lambda trigger": 0.0,
        "SNS publishes": SNS_PER_MILLION_PUBLISHES,
    }
    total = sum(lines.values())
    print(
        f"cost per million webhooks on AWS (us-east-1 prices of {PRICES_DATE}; arm64 at "
        f"{MEMORY_MB} MB = {share:.2f} vCPU)"
    )
    print(
        f"  measured CPU per invocation: receiver {measured['receiver_cpu_s'] * 1000:.2f} ms, "
        f"publisher {measured['publisher_cpu_s'] * 1000:.2f} ms; billed duration "
        f"{receiver_s * 1000:.1f} ms and {publisher_s * 1000:.1f} ms with the assumed AWS waits"
        f" ({DYNAMODB_WAIT_S * 1000:.0f} ms DynamoDB, {SNS_WAIT_S * 1000:.0f} ms SNS)"
    )
    for label, dollars in lines.items():
        print(f"  {label:<62} ${dollars:7.3f}")
    print(f"  {'total per million webhooks':<62} ${total:7.3f}")
    return {
        "prices_date": PRICES_DATE,
        "measured": {k: v for k, v in measured.items() if not k.endswith("_item")},
        "lines": lines,
        "total": total,
    }


if __name__ == "__main__":
    main()
