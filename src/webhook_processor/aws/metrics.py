"""The custom metrics the Lambda functions emit, and their dimensions: one definition that the
handlers emit with and the Pulumi program's alarms watch, so the two cannot drift.

The functions emit CloudWatch embedded metric format (EMF) through Powertools, in namespace
:data:`NAMESPACE`. Powertools adds the dimension ``service`` (its ``POWERTOOLS_SERVICE_NAME``)
to every metric, and an alarm only sees a metric whose dimensions it names exactly, so the
Pulumi program sets that variable to :func:`service_name` of the stack and its alarms name the
same value: two stacks in one account and region emit, and alarm on, separate series.

This module imports nothing but the exception tree: the Pulumi program loads it without the
Lambda functions' dependencies.
"""

from __future__ import annotations

from typing import Final

from webhook_processor.errors import SignatureInvalid

NAMESPACE: Final = "WebhookProcessor"

#: The dimension Powertools adds to every metric.
SERVICE: Final = "service"
#: The dimension of :data:`REJECTED`: the error code of the refusal (``invalid_signature``...).
REASON: Final = "reason"

# -- the receiver -----------------------------------------------------------------------------
#: Every invocation.
RECEIVED: Final = "Received"
#: Events stored by this invocation.
STORED: Final = "Stored"
#: Deliveries of events stored before.
DUPLICATES: Final = "Duplicates"
#: Verified deliveries answered 2xx (stored, duplicate or ignored), by :data:`PROVIDER` as well
#: as ``service``: a provider retrying, or sending types we do not keep, is still sending. The
#: quiet-provider alarms watch each provider's series.
DELIVERIES: Final = "Deliveries"
#: Every refused request, 4xx and 5xx alike, by :data:`REASON`.
REJECTED: Final = "Rejected"
#: Requests answered 503 (and direct invocations that raised for the same reasons): the store,
#: a secret or a setting is unavailable. The function itself succeeds, so Lambda's ``Errors``
#: never counts these.
UNAVAILABLE: Final = "Unavailable"

# -- the publisher ----------------------------------------------------------------------------
#: Events published to the topic.
PUBLISHED: Final = "Published"
#: Publications the topic refused, and stream records that could not be read. The function
#: reports them in ``batchItemFailures`` instead of raising, so ``Errors`` never counts these.
PUBLISH_FAILURES: Final = "PublishFailures"
#: Events the publisher gave up retrying in the stream and put on the publish-failures queue.
HANDED_OFF: Final = "HandedOff"

# -- the reconciler ---------------------------------------------------------------------------
#: The dimension of the per-provider series: the reconciler's counts (the provider whose events
#: API was listed) and the receiver's :data:`DELIVERIES`.
PROVIDER: Final = "provider"
#: Events a reconciliation found in the provider's events API and stored: webhooks that never
#: arrived (or not yet). Any is news: the alarm "webhooks were missed" watches it.
EVENTS_RECOVERED: Final = "EventsRecovered"
#: Reconciliations that failed (the events API, its key, the table). The function does not raise
#: for them (the next scheduled run lists the window again), so ``Errors`` never counts these.
RECONCILE_ERRORS: Final = "ReconcileErrors"

#: 1 when a scheduled run found the provider's endpoint pointing at us disabled or missing, 0
#: when it is enabled (by :data:`PROVIDER`; nothing when the provider could not be asked).
ENDPOINT_DOWN: Final = "EndpointDown"

#: The ``reason`` of a request whose signature matched no active secret.
INVALID_SIGNATURE: Final = SignatureInvalid.code


def service_name(suffix: str) -> str:
    """The ``service`` dimension of the stack whose environment suffix is ``suffix``."""
    return f"webhook-processor-{suffix}"
