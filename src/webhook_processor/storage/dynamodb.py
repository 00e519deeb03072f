"""The DynamoDB store: the request path's conditional write on AWS.

Key design:

* Table key ``event_key`` = ``"{provider}#{event_id}"`` (string, no sort key). The conditional
  put (``attribute_not_exists(event_key)``) is exactly "one record per provider event", whatever
  the payload says: a redelivery that somehow carried another transaction id is still caught.
* Global secondary index ``by_transaction``: partition ``transaction_id``, sort ``occurred_key``
  = ``"{occurred_at}#{received_at}#{event_key}"`` (ISO 8601 UTC, so text order is time order).
  It lists one transaction's events in order. GSI reads are eventually consistent, which suits
  listing; the dedupe never reads the index.

Amounts are DynamoDB numbers (``Decimal``, exact to 38 digits; bounded far below by
:mod:`webhook_processor.money`). Metadata is stored as JSON text: arbitrary sender numbers could
exceed DynamoDB's number range, and a bad payload must be a 400, never a 5xx. No raw payload is
kept, so there is no expiry attribute. The table's stream (NEW_IMAGE) is the outbox: the
publisher function turns each INSERT into one SNS message.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from webhook_processor import codec
from webhook_processor.errors import StorageUnavailable
from webhook_processor.model import PaymentEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

TRANSACTION_INDEX: Final = "by_transaction"

#: The table's keys and index, as CreateTable takes them. The Pulumi program and the tests build
#: the table from this one definition, so the deployed schema cannot drift from the code.
TABLE_KEYS: Final[dict[str, Any]] = {
    "AttributeDefinitions": [
        {"AttributeName": "event_key", "AttributeType": "S"},
        {"AttributeName": "transaction_id", "AttributeType": "S"},
        {"AttributeName": "occurred_key", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "event_key", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": TRANSACTION_INDEX,
            "KeySchema": [
                {"AttributeName": "transaction_id", "KeyType": "HASH"},
                {"AttributeName": "occurred_key", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
}
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def event_key(provider: str, event_id: str) -> str:
    return f"{provider}#{event_id}"


def to_item(event: PaymentEvent) -> dict[str, Any]:
    """The event as a DynamoDB item of plain Python values (``Decimal`` amount)."""
    occurred, received = event.occurred_at.isoformat(), event.received_at.isoformat()
    key = event_key(event.provider, event.event_id)
    item: dict[str, Any] = {
        "event_key": key,
        "provider": event.provider,
        "event_id": event.event_id,
        "transaction_id": event.transaction_id,
        "occurred_key": f"{occurred}#{received}#{key}",
        "event_type": event.event_type,
        "amount": event.amount,
        "currency": event.currency,
        "status": event.status,
        "metadata": codec.dumps(dict(event.metadata)),
        "occurred_at": occurred,
        "received_at": received,
    }
    if event.customer_id is not None:
        item["customer_id"] = event.customer_id
    if event.payment_method is not None:
        item["payment_method"] = event.payment_method
    return item


def from_item(item: dict[str, Any]) -> PaymentEvent:
    """Inverse of :func:`to_item`."""
    return PaymentEvent(
        provider=item["provider"],
        event_id=item["event_id"],
        transaction_id=item["transaction_id"],
        event_type=item["event_type"],
        amount=Decimal(item["amount"]),
        currency=item["currency"],
        status=item["status"],
        customer_id=item.get("customer_id"),
        payment_method=item.get("payment_method"),
        metadata=codec.loads(item["metadata"]),
        occurred_at=datetime.fromisoformat(item["occurred_at"]),
        received_at=datetime.fromisoformat(item["received_at"]),
    )


def serialize(item: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def deserialize(image: dict[str, Any]) -> dict[str, Any]:
    """Plain values from a DynamoDB image (a GetItem item or a stream NewImage)."""
    return {name: _deserializer.deserialize(value) for name, value in image.items()}


class DynamoDBStore:
    """An EventStore on one DynamoDB table (see the module docstring for its keys)."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._client = client

    def insert_if_absent(self, event: PaymentEvent) -> bool:
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=serialize(to_item(event)),
                ConditionExpression="attribute_not_exists(event_key)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise StorageUnavailable(f"DynamoDB put failed: {_describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"DynamoDB put failed: {exc}") from exc
        return True

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        try:
            response = self._client.get_item(
                TableName=self.table_name,
                Key={"event_key": {"S": event_key(provider, event_id)}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"DynamoDB get failed: {_describe(exc)}") from exc
        item = response.get("Item")
        return from_item(deserialize(item)) if item else None

    def events_for_transaction(self, transaction_id: str) -> list[PaymentEvent]:
        events: list[PaymentEvent] = []
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": TRANSACTION_INDEX,
            "KeyConditionExpression": "transaction_id = :t",
            "ExpressionAttributeValues": {":t": {"S": transaction_id}},
        }
        try:
            while True:
                page = self._client.query(**query)
                events += [from_item(deserialize(item)) for item in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    return events
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"DynamoDB query failed: {_describe(exc)}") from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'unknown')}: {error.get('Message', '')}"
    return str(exc)
