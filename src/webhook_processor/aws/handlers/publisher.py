"""The publisher function: the table's stream (the outbox) to the topic, through the
:class:`~webhook_processor.aws.stream.StreamPublisher` bootstrap builds.

Partial batch failures: a stream shard is an ordered log, and Lambda retries a batch from the
LOWEST sequence number reported failed. So the batch stops at the first record that must be
retried and reports that record alone: records before it are published (or handed off) and not
retried; records after it were not sent yet and go out with the retry. (Continuing past a
failure, as generic batch processors do, would re-publish every later record on the retry.)
What the publisher gives up retrying goes to the publish-failures queue. A batch that keeps
crashing the function goes, after the mapping's few retries, to Lambda's on-failure destination
(the same queue), whose record only points into the stream: ``aws redrive`` turns it into
hand-offs while the stream still holds it (24 hours).

The function never raises for a failed publication, so Lambda's ``Errors`` metric stays at 0:
``PublishFailures`` and ``HandedOff`` are what the alarms watch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_processor.aws import metrics as names
from webhook_processor.aws.bootstrap import AwsConfig, build_publisher
from webhook_processor.aws.handlers.observability import (
    Handler,
    annotate,
    built_once,
    instrument,
    logger,
    metrics,
    traced_session,
)

if TYPE_CHECKING:
    from webhook_processor.aws.stream import StreamPublisher


def create_handler(build: Callable[[], StreamPublisher]) -> Handler:
    """The handler over the publisher ``build`` makes on the first invocation; the container
    reuses it. The deployed function is ``handler`` below; tests pass their own ``build``."""
    publisher = built_once(build)

    @instrument
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        report = publisher().publish(event.get("Records", []))
        metrics.add_metric(name=names.PUBLISHED, unit=MetricUnit.Count, value=report.published)
        annotate(
            **{
                "publisher.published": report.published,
                "publisher.failures": report.failures,
                "publisher.handed_off": len(report.handed_off),
            }
        )
        if report.failures:
            metrics.add_metric(
                name=names.PUBLISH_FAILURES, unit=MetricUnit.Count, value=report.failures
            )
        if report.handed_off:
            metrics.add_metric(
                name=names.HANDED_OFF, unit=MetricUnit.Count, value=len(report.handed_off)
            )
            logger.warning(
                "handed off to the publish-failures queue",
                extra={"keys": report.handed_off, "error": report.refused},
            )
        if report.retry_from is None:
            return {"batchItemFailures": []}
        logger.error(
            "publish failed", extra={"sequence_number": report.retry_from, "error": report.error}
        )
        return {"batchItemFailures": [{"itemIdentifier": report.retry_from}]}

    return handler


handler = create_handler(
    lambda: build_publisher(AwsConfig.from_environ(os.environ), traced_session())
)
