"""A DynamoDB stream's event source mapping as Lambda documents it, for the suite to run the
publisher under (moto would start the function in Docker for each record, which this machine
has not got).

From https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html and
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html:

* a shard's records go to the function in order, ``batch_size`` at a time;
* a function error with ``BisectBatchOnFunctionError`` splits the batch in two and retries each
  half ("splitting a batch does not count towards the retry quota");
* with ``ReportBatchItemFailures``, a response naming failed records retries the batch from the
  lowest one; records before it are done;
* a batch still failing after ``MaximumRetryAttempts`` retries is discarded: its on-failure
  destination gets a record that points into the stream (AWS's example, with
  ``DDBStreamBatchInfo``), and the shard goes on with the next records.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Function = Callable[[list[dict[str, Any]]], dict[str, Any]]


@dataclass
class StreamMapping:
    """One shard's mapping: ``function`` takes a batch of records and answers as the publisher
    handler does, or raises (a crash); ``on_failure`` gets each discarded batch's record."""

    function: Function
    on_failure: Callable[[dict[str, Any]], None]
    stream_arn: str
    shard_id: str
    function_arn: str
    batch_size: int
    max_retries: int
    bisect: bool
    #: Every invocation, by the sequence numbers of its batch: what the retries cost.
    invocations: list[list[str]] = field(default_factory=list)

    def run(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Feed ``records`` (one shard's, in order) through; the on-failure records sent."""
        pending = deque(
            (list(records[i : i + self.batch_size]), 0)
            for i in range(0, len(records), self.batch_size)
        )
        discarded = []
        while pending:
            batch, retries = pending.popleft()
            failed_from = self._invoke(batch)
            if failed_from is None:
                continue
            if failed_from == -1:  # a function error
                if self.bisect and len(batch) > 1:
                    half = len(batch) // 2
                    pending.extendleft([(batch[half:], retries), (batch[:half], retries)])
                    continue
                failed_from = 0
            rest = batch[failed_from:]
            if retries < self.max_retries:
                pending.appendleft((rest, retries + 1))
                continue
            record = self._failure_record(rest, retries)
            self.on_failure(record)
            discarded.append(record)
        return discarded

    def _invoke(self, batch: list[dict[str, Any]]) -> int | None:
        """None when the batch is done, -1 for a function error, else the index to retry from."""
        self.invocations.append([_sequence(r) for r in batch])
        try:
            answer = self.function(batch)
        except Exception:
            return -1
        failures = [f["itemIdentifier"] for f in answer.get("batchItemFailures", [])]
        if not failures:
            return None
        lowest = min(int(f) for f in failures)
        return next(i for i, r in enumerate(batch) if int(_sequence(r)) == lowest)

    def _failure_record(self, batch: list[dict[str, Any]], retries: int) -> dict[str, Any]:
        """Lambda's invocation record for a discarded batch (AWS's example's fields)."""
        arrivals = [_arrival(r) for r in batch]
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": retries + 1,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": _sequence(batch[0]),
                "endSequenceNumber": _sequence(batch[-1]),
                "approximateArrivalOfFirstRecord": arrivals[0],
                "approximateArrivalOfLastRecord": arrivals[-1],
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _arrival(record: dict[str, Any]) -> str:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
