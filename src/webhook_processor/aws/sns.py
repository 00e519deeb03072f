"""The SNS sink: the envelope as the message, filterable attributes beside it.

It keeps the stream's contract (see :mod:`webhook_processor.aws.handlers.publisher`):
events are published one at a time, in order, and the first failure stops the batch, so the
events after it are reported not delivered and go out with the retry, never twice. SNS
``PublishBatch`` is not used: it can take entries after a failed one, which the retry would
then publish again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from webhook_processor.model import PaymentEvent
from webhook_processor.publishing.base import Sink
from webhook_processor.publishing.envelope import encode

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef


def message_attributes(event: PaymentEvent) -> dict[str, MessageAttributeValueTypeDef]:
    """The attributes subscribers can use in SNS filter policies: the event's, and where its
    transaction now stands (``transaction_status``: subscribe to "became refunded")."""
    attributes = [
        ("provider", event.provider),
        ("event_type", event.event_type),
        ("status", event.status),
        ("currency", event.currency),
    ]
    if event.transaction is not None:
        attributes.append(("transaction_status", event.transaction.status))
    return {name: {"DataType": "String", "StringValue": value} for name, value in attributes}


class SnsSink(Sink):
    """Publishes each event to one SNS topic."""

    def __init__(self, topic_arn: str, client: SNSClient) -> None:
        self.topic_arn = topic_arn
        self.name = f"sns:{topic_arn}"
        self._client = client

    def publish_batch(self, events: Sequence[PaymentEvent]) -> dict[str, str]:
        for index, event in enumerate(events):
            try:
                self._client.publish(
                    TopicArn=self.topic_arn,
                    Message=encode(event).decode("utf-8"),
                    MessageAttributes=message_attributes(event),
                )
            except (ClientError, BotoCoreError) as exc:
                later = "not attempted after an earlier event failed"
                return {
                    event.key: f"SNS publish failed: {exc}",
                    **{e.key: later for e in events[index + 1 :]},
                }
        return {}
