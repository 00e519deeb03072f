"""The DynamoDB store: events and their transactions in one table, on AWS.

Items (one table, ``pk`` the only key):

* an event: ``pk`` = ``"evt#{provider}#{event_id}"``, ``kind`` = ``event``. Its conditional put
  (``attribute_not_exists(pk)``) is exactly "one record per provider event", whatever the
  payload says. It also carries what storing it did to its transaction (``txn_*``).
* a transaction: ``pk`` = ``"txn#{provider}#{transaction_id}"``, ``kind`` = ``transaction``:
  the state after every event applied so far (:mod:`webhook_processor.transactions`), a
  ``version`` counting them, and ``last_event``, the event that made this version.

Storing an event is one ``TransactWriteItems``: the event's conditional put and the
transaction's put conditioned on the version read just before. Two events of one transaction
that race (two receivers, an Adyen batch) cannot both win: the loser reads again and re-applies,
so every event is applied exactly once, and a duplicate changes nothing.

The table's stream (NEW_IMAGE) is the outbox, read from the transaction items: DynamoDB orders
the stream records of one item, so a transaction's updates reach the publisher, and its
subscribers, in the order they were applied, whichever shards its events' items are on.

Indexes: ``by_transaction`` (``transaction_id``, ``occurred_key``) lists one transaction's
events in order; ``by_recency`` (``recent_shard``, ``recent_key``) lists the latest events and
transactions with a bounded query per shard (no Scan); eight shards spread the writes.

Amounts are DynamoDB numbers (``Decimal``, exact to 38 digits; bounded far below by
:mod:`webhook_processor.money`). Metadata and a transaction's dimensions are JSON text: a
sender's numbers could exceed DynamoDB's number range. No raw payload is kept, so there is no
expiry attribute.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from webhook_processor.errors import StorageUnavailable
from webhook_processor.model import PaymentEvent
from webhook_processor.storage.records import (
    from_record,
    state_from_record,
    state_to_record,
    to_record,
)
from webhook_processor.transactions import TransactionState, apply

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

TRANSACTION_INDEX: Final = "by_transaction"
RECENCY_INDEX: Final = "by_recency"
RECENCY_SHARDS: Final = 8
EVENT, TRANSACTION = "event", "transaction"
#: Attempts to apply an event while other events of its transaction keep winning the race.
MAX_CONFLICTS: Final = 8

#: The table's keys and indexes, as CreateTable takes them. The Pulumi program and the tests
#: build the table from this one definition, so the deployed schema cannot drift from the code.
TABLE_KEYS: Final[dict[str, Any]] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "transaction_id", "AttributeType": "S"},
        {"AttributeName": "occurred_key", "AttributeType": "S"},
        {"AttributeName": "recent_shard", "AttributeType": "S"},
        {"AttributeName": "recent_key", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": TRANSACTION_INDEX,
            "KeySchema": [
                {"AttributeName": "transaction_id", "KeyType": "HASH"},
                {"AttributeName": "occurred_key", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": RECENCY_INDEX,
            "KeySchema": [
                {"AttributeName": "recent_shard", "KeyType": "HASH"},
                {"AttributeName": "recent_key", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
}
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def event_key(provider: str, event_id: str) -> str:
    """The ``pk`` of an event's item."""
    return f"evt#{provider}#{event_id}"


def transaction_key(provider: str, transaction_id: str) -> str:
    """The ``pk`` of a transaction's item."""
    return f"txn#{provider}#{transaction_id}"


def _recency(kind: str, key: str, moment: str) -> dict[str, str]:
    shard = zlib.crc32(key.encode()) % RECENCY_SHARDS
    return {"recent_shard": f"{kind}#{shard}", "recent_key": f"{moment}#{key}"}


def to_item(event: PaymentEvent) -> dict[str, Any]:
    """The event as a DynamoDB item of plain Python values (``Decimal`` amount)."""
    record = to_record(event)
    key = event_key(event.provider, event.event_id)
    item = {name: value for name, value in record.items() if value is not None}
    occurred_key = f"{record['occurred_at']}#{record['received_at']}#{key}"
    return {
        "pk": key,
        "kind": EVENT,
        "occurred_key": occurred_key,
        **_recency(EVENT, key, record["received_at"]),
        **item,
    }


def from_item(item: Mapping[str, Any]) -> PaymentEvent:
    """Inverse of :func:`to_item`."""
    return from_record(item)


def transaction_item(state: TransactionState, event: PaymentEvent) -> dict[str, Any]:
    """The transaction's item after ``event`` (stored with its update) made this version."""
    key = transaction_key(state.provider, state.transaction_id)
    record = state_to_record(state)
    return {
        "pk": key,
        "kind": TRANSACTION,
        **record,
        "last_event": to_item(event),
        **_recency(TRANSACTION, key, record["updated_at"]),
    }


def state_from_item(item: Mapping[str, Any]) -> TransactionState:
    """The transaction a transaction item holds."""
    return state_from_record(item)


def published_event(image: Mapping[str, Any]) -> PaymentEvent | None:
    """The event a stream image announces with its transaction update, or None: only a
    transaction item's image is a publication (see the module docstring)."""
    if image.get("kind") != TRANSACTION:
        return None
    return from_item(image["last_event"])


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
    """An EventStore on one DynamoDB table (see the module docstring for its items)."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._client = client

    def insert_all(self, events: Sequence[PaymentEvent]) -> list[bool]:
        """Each event in its own transaction with its transaction's item, in order: a batch
        cannot be one (a transaction fails whole on one duplicate), and each is safe to repeat,
        so a retried batch completes what a failure interrupted."""
        return [self._insert(event) for event in events]

    async def insert_all_async(self, events: Sequence[PaymentEvent]) -> list[bool]:
        """The same writes on a worker thread; imported lazily, the Lambda functions never load
        asyncio."""
        import asyncio

        return await asyncio.to_thread(self.insert_all, events)

    def _insert(self, event: PaymentEvent) -> bool:
        for _ in range(MAX_CONFLICTS):
            current = self.transaction(event.provider, event.transaction_id)
            transition = apply(current, event)
            stored = replace(event, transaction=transition.update)
            reasons = self._write(stored, transition.after, current)
            if reasons is None:
                return True
            if reasons[0] == "ConditionalCheckFailed":
                return False  # the event is stored already: a redelivery
            # Another event of this transaction was applied since the read: read it again.
        raise StorageUnavailable(
            f"DynamoDB transaction {event.transaction_id!r} kept changing while storing an event"
        )

    def _write(
        self, event: PaymentEvent, after: TransactionState, before: TransactionState | None
    ) -> list[str] | None:
        """Put the event and the transaction's new version together; None if both went in,
        else DynamoDB's reason for each item (``ConditionalCheckFailed``, ``None``, ...)."""
        version = 0 if before is None else before.version
        with storage_errors("transaction write"):
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": serialize(to_item(event)),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": serialize(transaction_item(after, event)),
                                # Unchanged since the read: no other event was applied between.
                                "ConditionExpression": "attribute_not_exists(pk) OR version = :v",
                                "ExpressionAttributeValues": {":v": {"N": str(version)}},
                            }
                        },
                    ]
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                return [str(reason.get("Code", "None")) for reason in reasons] or ["unknown"]
        return None

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        item = self._get(event_key(provider, event_id))
        return None if item is None else from_item(item)

    def transaction(self, provider: str, transaction_id: str) -> TransactionState | None:
        """The transaction's state now (a strongly consistent read), or None."""
        item = self._get(transaction_key(provider, transaction_id))
        return None if item is None else state_from_item(item)

    def _get(self, key: str) -> dict[str, Any] | None:
        with storage_errors("get"):
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": key}}, ConsistentRead=True
            )
        item = response.get("Item")
        return None if item is None else deserialize(item)

    def events_for_transaction(self, transaction_id: str) -> list[PaymentEvent]:
        return [from_item(item) for item in self.event_items(transaction_id=transaction_id)]

    def recent_events(self, limit: int) -> list[PaymentEvent]:
        """The ``limit`` most recently received events, newest first: one bounded query per
        shard of the recency index."""
        return [from_item(item) for item in self.event_items(limit=limit)]

    def event_items(
        self, *, limit: int | None = None, transaction_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Event items as stored, with whatever else they carry (a publication mark): one
        transaction's, oldest first (up to ``limit``), or the ``limit`` latest, newest first."""
        if transaction_id is None:
            return self._recent(EVENT, 50 if limit is None else limit)
        items = self._query(
            IndexName=TRANSACTION_INDEX,
            KeyConditionExpression="transaction_id = :t",
            ExpressionAttributeValues={":t": {"S": transaction_id}},
        )
        return items if limit is None else items[:limit]

    def transactions(self, limit: int) -> list[TransactionState]:
        """The ``limit`` most recently updated transactions, newest first."""
        return [state_from_item(item) for item in self._recent(TRANSACTION, limit)]

    def _recent(self, kind: str, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for shard in range(RECENCY_SHARDS):
            found += self._query(
                IndexName=RECENCY_INDEX,
                KeyConditionExpression="recent_shard = :s",
                ExpressionAttributeValues={":s": {"S": f"{kind}#{shard}"}},
                ScanIndexForward=False,
                Limit=limit,
                pages=1,
            )
        found.sort(key=lambda item: str(item["recent_key"]), reverse=True)
        return found[:limit]

    def _query(self, *, pages: int | None = None, **query: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        query["TableName"] = self.table_name
        with storage_errors("query"):
            while True:
                page = self._client.query(**query)
                items += [deserialize(item) for item in page.get("Items", [])]
                if pages is not None:
                    pages -= 1
                if "LastEvaluatedKey" not in page or pages == 0:
                    return items
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
