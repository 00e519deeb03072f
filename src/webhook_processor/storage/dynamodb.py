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

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from webhook_processor.errors import StorageUnavailable
from webhook_processor.model import PaymentEvent
from webhook_processor.storage.records import from_record, to_record

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
    record = to_record(event)
    key = event_key(event.provider, event.event_id)
    item = {name: value for name, value in record.items() if value is not None}
    occurred_key = f"{record['occurred_at']}#{record['received_at']}#{key}"
    return {"event_key": key, "occurred_key": occurred_key, **item}


def from_item(item: dict[str, Any]) -> PaymentEvent:
    """Inverse of :func:`to_item`."""
    return from_record(item)


def serialize(item: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def deserialize(image: dict[str, Any]) -> dict[str, Any]:
    """Plain values from a DynamoDB image (a GetItem item or a stream NewImage)."""
    return {name: _deserializer.deserialize(value) for name, value in image.items()}


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Map the SDK's errors to :class:`StorageUnavailable`, naming the call that failed."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', 'unknown')}: {error.get('Message', '')}"
        raise StorageUnavailable(f"DynamoDB {what} failed: {detail}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"DynamoDB {what} failed: {exc}") from exc


class DynamoDBStore:
    """An EventStore on one DynamoDB table (see the module docstring for its keys)."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._client = client

    def insert_all(self, events: Sequence[PaymentEvent]) -> list[bool]:
        """One conditional put per event, in order: DynamoDB has no cheaper idempotent batch
        (a transaction fails whole on one duplicate), and each put is safe to repeat."""
        return [self._insert(event) for event in events]

    async def insert_all_async(self, events: Sequence[PaymentEvent]) -> list[bool]:
        """The same puts on a worker thread; imported lazily, the Lambda functions never load
        asyncio."""
        import asyncio

        return await asyncio.to_thread(self.insert_all, events)

    def _insert(self, event: PaymentEvent) -> bool:
        with storage_errors("put"):
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item=serialize(to_item(event)),
                    ConditionExpression="attribute_not_exists(event_key)",
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        with storage_errors("get"):
            response = self._client.get_item(
                TableName=self.table_name,
                Key={"event_key": {"S": event_key(provider, event_id)}},
                ConsistentRead=True,
            )
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
        with storage_errors("query"):
            while True:
                page = self._client.query(**query)
                events += [from_item(deserialize(item)) for item in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    return events
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
