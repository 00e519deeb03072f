"""The publisher function: the table's stream (the outbox) to SNS.

Each INSERT record's NEW_IMAGE is rebuilt into the event and published as the same envelope the
local sinks write, with ``provider``, ``event_type``, ``status`` and ``currency`` message
attributes for SNS filter policies.

Partial batch failures: a stream shard is an ordered log, and Lambda retries a batch from the
LOWEST sequence number reported failed. So the loop stops at the first failure and reports that
record alone: records before it are published and not retried; records after it were not sent
yet and go out with the retry. (Continuing past a failure, as generic batch processors do,
would re-publish every later record on the retry.) The event source mapping bounds retries and
sends what still fails to the dead-letter queue.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_processor.bootstrap import AwsConfig, build_publisher
from webhook_processor.entrypoints.observability import instrument, logger, metrics
from webhook_processor.errors import DeliveryFailed
from webhook_processor.publishing.sns import SnsPublisher
from webhook_processor.storage.dynamodb import deserialize, from_item


@functools.cache
def publisher() -> SnsPublisher:
    return build_publisher(AwsConfig.from_environ(os.environ))


@instrument
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    published = 0
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue  # the store never updates or deletes; nothing else is an event
        sequence = record["dynamodb"]["SequenceNumber"]
        try:
            publisher().publish(from_item(deserialize(record["dynamodb"]["NewImage"])))
        except (DeliveryFailed, KeyError, ValueError) as exc:
            logger.error("publish failed", extra={"sequence_number": sequence, "error": str(exc)})
            metrics.add_metric(name="PublishFailures", unit=MetricUnit.Count, value=1)
            failures.append({"itemIdentifier": sequence})
            break  # later records go out with the retry, which starts here
        published += 1
    metrics.add_metric(name="Published", unit=MetricUnit.Count, value=published)
    return {"batchItemFailures": failures}
