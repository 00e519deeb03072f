"""The publisher function: the table's stream (the outbox) to the sink bootstrap chose (SNS).

Every new version of a transaction item (an INSERT or MODIFY record) announces one stored event
and what it did to its transaction: its NEW_IMAGE is rebuilt into that event and published as
the same envelope the local sinks write. The records of one item are ordered in the stream, so
subscribers get a transaction's updates in the order they were applied. Event items' own
records are not publications.

Partial batch failures: a stream shard is an ordered log, and Lambda retries a batch from the
LOWEST sequence number reported failed. So the batch stops at the first failure and reports
that record alone: records before it are published and not retried; records after it were not
sent yet (the sink stops at its first failure too) and go out with the retry. (Continuing past a
failure, as generic batch processors do, would re-publish every later record on the retry.) The
event source mapping bounds retries and sends what still fails to the dead-letter queue.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_processor.bootstrap import AwsConfig, build_publisher
from webhook_processor.entrypoints.observability import Handler, instrument, logger, metrics
from webhook_processor.storage.dynamodb import deserialize, published_event

if TYPE_CHECKING:
    from webhook_processor.model import PaymentEvent
    from webhook_processor.publishing.base import Sink


def create_handler(build: Callable[[], Sink]) -> Handler:
    """The handler over the sink ``build`` makes on the first invocation; the container reuses
    it. The deployed function is ``handler`` below; tests pass their own ``build``."""
    sink = functools.cache(build)

    @instrument
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        sequences: list[str] = []
        events: list[PaymentEvent] = []
        failure: tuple[str, str] | None = None
        for record in event.get("Records", []):
            if record.get("eventName") not in ("INSERT", "MODIFY"):
                continue  # the store never deletes
            sequence = record["dynamodb"]["SequenceNumber"]
            try:
                announced = published_event(deserialize(record["dynamodb"]["NewImage"]))
            except (KeyError, ValueError) as exc:
                failure = (sequence, f"cannot read the stored event: {exc}")
                break  # later records go out with the retry, which starts here
            if announced is not None:
                events.append(announced)
                sequences.append(sequence)
        not_taken = sink().publish_batch(events) if events else {}
        published = 0
        for sequence, sent in zip(sequences, events, strict=True):
            if sent.key in not_taken:
                failure = (sequence, not_taken[sent.key])
                break
            published += 1
        metrics.add_metric(name="Published", unit=MetricUnit.Count, value=published)
        if failure is None:
            return {"batchItemFailures": []}
        sequence, error = failure
        logger.error("publish failed", extra={"sequence_number": sequence, "error": error})
        metrics.add_metric(name="PublishFailures", unit=MetricUnit.Count, value=1)
        return {"batchItemFailures": [{"itemIdentifier": sequence}]}

    return handler


handler = create_handler(lambda: build_publisher(AwsConfig.from_environ(os.environ)))
