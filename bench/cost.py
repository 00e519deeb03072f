"""Cost per million webhooks on AWS, before and after the table's layout changed, from the
handlers' CPU measured in this run.

The receiver and the publisher run warm in a subprocess (``bench.cost_probe``) with real boto3
clients answered in-process, in a Lambda-like environment. Billed duration is that CPU time at
the configured memory's share of a vCPU (Lambda gives a full vCPU at 1,769 MB) plus the time
spent waiting on AWS, which this machine cannot measure and is an assumption below. The CPU is
this machine's, not a Graviton's. Counted for the first event of a transaction (a payment),
each stream record its own batch (a quiet stream; a busy one batches records and costs less).

"Before" is the layout up to this release: both indexes projected every attribute, a
transaction item carried its last event whole (its size in DynamoDB's 1 KB units doubled), and
the stream's mapping had no filter, so the publisher was invoked for every event item's record
too, only to ignore it. The same code's measured CPU is used for both columns.

Prices: US East (N. Virginia), on-demand, as published on the date in ``PRICES_DATE``:

* Lambda arm64: $0.0000133334 per GB-second (first 7.5 billion GB-s a month), $0.20 per
  million requests (aws.amazon.com/lambda/pricing). A Function URL adds no charge of its own:
  its requests are billed as Lambda requests and duration. A stream record the mapping's event
  filter drops invokes nothing, so it costs no request and no duration (Lambda Developer
  Guide, "Control which events Lambda sends to your function").
* DynamoDB on demand: $0.625 per million write request units and $0.125 per million read
  request units (aws.amazon.com/dynamodb/pricing/on-demand; the November 2024 price cut). An
  event is stored by one consistent GetItem of its transaction (1 read unit per 4 KB) and one
  TransactWriteItems of the event and the transaction (2 write units per 1 KB of each item:
  transactional writes cost double), and each item is also written to every index whose keys
  it has (1 unit per 1 KB of the index entry: the item with ALL, its keys with KEYS_ONLY).
  Item sizes follow the Developer Guide's "Item sizes and formats" (:func:`item_bytes`).
* DynamoDB Streams: GetRecords calls made by a Lambda trigger are not charged
  (DynamoDB Developer Guide, "Evaluate your DynamoDB streams usage").
* SNS standard topics: $0.50 per million publish requests, each 64 KB of payload one request
  (aws.amazon.com/sns/pricing); deliveries depend on the subscribers and are not counted.
* KMS: $0.03 per 10,000 requests (aws.amazon.com/kms/pricing). See :data:`KMS_CALLS` for
  which services call KMS per request and which cache their keys.

Not counted: CloudWatch Logs, X-Ray traces, data transfer, subscriber deliveries and the free
tiers.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

from bench.cold_start import ENV

PRICES_DATE = "2026-11-29"
MEMORY_MB = 1024  # the functions' configured memory (infra: lambdaMemoryMb)
FULL_VCPU_MB = 1769
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS = 0.20
DYNAMODB_PER_MILLION_WRU = 0.625
DYNAMODB_PER_MILLION_RRU = 0.125
SNS_PER_MILLION_PUBLISHES = 0.50
KMS_PER_MILLION_REQUESTS = 3.00
#: The goal of this section.
TARGET_DOLLARS = 4.00
#: Assumed waits on AWS per invocation (not measurable here), each call a few milliseconds
#: from inside the region: the receiver's GetItem and TransactWriteItems, the publisher's Publish.
DYNAMODB_WAIT_S = 0.010
SNS_WAIT_S = 0.010
#: KMS requests per webhook that each service makes with the stack's key, and why (the
#: services' own documentation):
#:
#: * DynamoDB caches the table key it gets from KMS and refreshes it every five minutes per
#:   caller connection, not per request ("How Amazon DynamoDB uses AWS KMS"): 0 per webhook.
#: * Lambda decrypts the functions' environment variables once per execution environment, at
#:   its start ("Securing Lambda environment variables"): 0 per webhook.
#: * The receiver's SSM SecureString reads (one KMS Decrypt each) are cached in the function
#:   for ``SECRETS_TTL`` (``webhook_processor.aws.secrets``): 0 per webhook.
#: * SNS reuses a data key for up to five minutes per publishing principal: R = B / D * (2 * P)
#:   requests a topic a billing period B ("Key management", Amazon SNS Developer Guide), about
#:   17,856 a month for the one publisher, $0.05 a month whatever the volume: 0 per webhook.
#:   The SQS queues are only used for failures (they reuse keys for KmsDataKeyReusePeriod).
#: * CloudWatch Logs encrypts log data with a key it caches: 0 per webhook.
KMS_CALLS: Final[dict[str, float]] = {
    "DynamoDB table": 0.0,
    "Lambda environment": 0.0,
    "SSM SecureString": 0.0,
    "SNS topic": 0.0,
    "CloudWatch Logs": 0.0,
}


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item in typed JSON (``{"S": ...}``), as the Developer Guide's "Item
    sizes and formats" counts it: each attribute's name and its value; a string its UTF-8
    bytes; a number about one byte per two significant digits, plus one; a boolean or null one
    byte; a map or list three bytes, plus one per element, plus its elements."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    [(kind, inner)] = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in inner)
    raise ValueError(f"no size for DynamoDB type {kind!r}")


def _units(size: int, unit: int = 1024) -> int:
    return max(1, math.ceil(size / unit))


def _index_units(item: dict[str, Any], projection: str) -> int:
    """Write units of an item's index entries: one per index whose keys it has, each the
    item's size (ALL) or its keys' (KEYS_ONLY, far below 1 KB)."""
    from webhook_processor.aws.items import TABLE_KEYS

    indexed = sum(
        all(key["AttributeName"] in item for key in index["KeySchema"])
        for index in TABLE_KEYS["GlobalSecondaryIndexes"]
    )
    return indexed * (_units(item_bytes(item)) if projection == "ALL" else 1)


def lines(measured: dict[str, Any], *, before: bool) -> dict[str, tuple[str, float]]:
    """The cost of a million webhooks, line by line: what is counted, and its dollars."""
    share = MEMORY_MB / FULL_VCPU_MB
    gb = MEMORY_MB / 1024
    event = measured["event_item"]
    transaction = measured["transaction_item_before" if before else "transaction_item"]
    projection = "ALL" if before else "KEYS_ONLY"
    written = 2 * (_units(item_bytes(event)) + _units(item_bytes(transaction)))
    indexed = _index_units(event, projection) + _index_units(transaction, projection)
    read = _units(item_bytes(transaction), 4096)
    receiver_s = measured["receiver_cpu_s"] / share + DYNAMODB_WAIT_S
    publisher_s = measured["publisher_cpu_s"] / share + SNS_WAIT_S
    # Unfiltered, the publisher was also invoked for the event item's record.
    ignoring_s = measured["publisher_ignoring_cpu_s"] / share if before else 0.0
    invocations = 3 if before else 2
    kms = sum(KMS_CALLS.values())
    duration = gb * LAMBDA_GB_SECOND * 1e6
    return {
        "Lambda requests, one record a batch": (
            f"{invocations} invocations",
            invocations * LAMBDA_PER_MILLION_REQUESTS,
        ),
        "Lambda duration, receiver": (f"{receiver_s * 1000:.1f} ms", receiver_s * duration),
        "Lambda duration, publisher": (
            f"{(publisher_s + ignoring_s) * 1000:.1f} ms",
            (publisher_s + ignoring_s) * duration,
        ),
        "Function URL": ("", 0.0),
        "DynamoDB consistent read of the transaction": (
            f"{read} RRU",
            read * DYNAMODB_PER_MILLION_RRU,
        ),
        "DynamoDB transactional write, event + transaction": (
            f"{written} WRU",
            written * DYNAMODB_PER_MILLION_WRU,
        ),
        "DynamoDB index writes": (
            f"{indexed} WRU {projection}",
            indexed * DYNAMODB_PER_MILLION_WRU,
        ),
        "DynamoDB Streams reads by the Lambda trigger": ("", 0.0),
        "SNS publishes": ("1", SNS_PER_MILLION_PUBLISHES),
        "KMS requests (the services cache their keys)": (
            f"{kms:g}",
            kms * KMS_PER_MILLION_REQUESTS,
        ),
    }


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
    before, after = lines(measured, before=True), lines(measured, before=False)
    share = MEMORY_MB / FULL_VCPU_MB
    print(
        f"cost per million webhooks on AWS (us-east-1 prices of {PRICES_DATE}; arm64 at "
        f"{MEMORY_MB} MB = {share:.2f} vCPU; target ${TARGET_DOLLARS:.2f})"
    )
    print(
        f"  measured CPU per invocation: receiver {measured['receiver_cpu_s'] * 1000:.2f} ms, "
        f"publisher {measured['publisher_cpu_s'] * 1000:.2f} ms (an ignored record "
        f"{measured['publisher_ignoring_cpu_s'] * 1000:.2f} ms); assumed AWS waits "
        f"{DYNAMODB_WAIT_S * 1000:.0f} ms DynamoDB, {SNS_WAIT_S * 1000:.0f} ms SNS"
    )
    sizes = {
        name: item_bytes(measured[name])
        for name in ("event_item", "transaction_item_before", "transaction_item")
    }
    print(
        f"  items: event {sizes['event_item']} B; transaction {sizes['transaction_item_before']}"
        f" B before, {sizes['transaction_item']} B after"
    )
    print(f"  {'':<50} {'before':>22} {'after':>22}")
    for label, (was_counted, was) in before.items():
        counted, now = after[label]
        print(f"  {label:<50} {was_counted:>13} ${was:7.3f} {counted:>13} ${now:7.3f}")
    total_before = sum(dollars for _, dollars in before.values())
    total_after = sum(dollars for _, dollars in after.values())
    verdict = "met" if total_after <= TARGET_DOLLARS else "MISSED"
    print(
        f"  {'total per million webhooks':<50} {'':>13} ${total_before:7.3f} {'':>13}"
        f" ${total_after:7.3f}  {verdict}"
    )
    return {
        "prices_date": PRICES_DATE,
        "measured": {k: v for k, v in measured.items() if not k.endswith(("_item", "_before"))},
        "item_bytes": sizes,
        "before": {label: dollars for label, (_, dollars) in before.items()},
        "after": {label: dollars for label, (_, dollars) in after.items()},
        "total_before": total_before,
        "total_after": total_after,
        "target": TARGET_DOLLARS,
        "verdict": verdict,
    }


if __name__ == "__main__":
    main()
