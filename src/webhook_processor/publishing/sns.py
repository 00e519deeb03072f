"""Publishing to SNS: the envelope as the message, filterable attributes beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from webhook_processor.errors import DeliveryFailed
from webhook_processor.model import PaymentEvent
from webhook_processor.publishing.envelope import encode

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef


def message_attributes(event: PaymentEvent) -> dict[str, MessageAttributeValueTypeDef]:
    """The attributes subscribers can use in SNS filter policies."""
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in (
            ("provider", event.provider),
            ("event_type", event.event_type),
            ("status", event.status),
            ("currency", event.currency),
        )
    }


class SnsPublisher:
    """A sink that publishes each event to one SNS topic."""

    def __init__(self, topic_arn: str, client: SNSClient) -> None:
        self.topic_arn = topic_arn
        self.name = f"sns:{topic_arn}"
        self._client = client

    def publish(self, event: PaymentEvent) -> None:
        try:
            self._client.publish(
                TopicArn=self.topic_arn,
                Message=encode(event).decode("utf-8"),
                MessageAttributes=message_attributes(event),
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryFailed(f"SNS publish failed: {exc}") from exc
