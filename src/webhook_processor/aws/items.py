"""The DynamoDB item layout: the one module that knows the names of the table's attributes.

One table, ``pk`` its only key:

* an event: ``pk`` = ``"evt#{provider}#{event_id}"``, ``kind`` = ``event``, the event's record
  (:mod:`webhook_processor.storage.records`) and what storing it did to its transaction
  (``txn_*``); once the stream gave up publishing it, its publication mark
  (``publication``, ``publication_at``, ``publication_claim``, ``publication_error``; see
  :mod:`webhook_processor.aws.publications`).
* a transaction: ``pk`` = ``"txn#{provider}#{transaction_id}"``, ``kind`` = ``transaction``:
  the state after every event applied so far (:mod:`webhook_processor.transactions`), a
  ``version`` counting them, and ``last_event``, the event that made this version. It holds
  totals only, so it stays small whatever the transaction's history.
* a refund or capture: ``pk`` = ``"mov#{provider}#{len}:{transaction_id}#{kind}#{movement_id}"``,
  ``kind`` = ``movement``: where that one movement stands, written with the event that moved it.
* a provider's reconciliation journal: ``pk`` = ``"recon#{provider}"``, ``kind`` =
  ``reconciliation``: its high-water mark (``reconciled_until``), the claim of the run listing it
  now (``claimed_by``, ``claimed_until``) and what the last whole run did (``last_*``, for
  operators). It has none of the indexes' key attributes, so no listing ever shows it, and its
  stream records are no publication (:func:`published_event` reads transaction items only).

Indexes: ``by_transaction`` (``transaction_id``, ``occurred_key``) lists one transaction's
events in order, and its movements after them (their ``occurred_key`` starts ``mov#``, after
every time; a transaction item has no ``occurred_key``, so it is not in it);
``by_recency`` (``recent_shard``, ``recent_key``) lists the latest events and transactions
with a bounded query per shard (no Scan); eight shards spread the writes.

Amounts are DynamoDB numbers (``Decimal``, exact to 38 digits; bounded far below by
:mod:`webhook_processor.money`). Metadata and a transaction's dimensions are JSON text: a
sender's numbers could exceed DynamoDB's number range. No raw payload is kept, so there is no
expiry attribute.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from webhook_processor.model import PaymentEvent
from webhook_processor.storage.records import (
    from_record,
    movement_from_record,
    movement_to_record,
    state_from_record,
    state_to_record,
    to_record,
)
from webhook_processor.transactions import (
    Movement,
    TransactionState,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

TRANSACTION_INDEX: Final = "by_transaction"
RECENCY_INDEX: Final = "by_recency"
RECENCY_SHARDS: Final = 8
EVENT, TRANSACTION, MOVEMENT = "event", "transaction", "movement"
RECONCILIATION: Final = "reconciliation"
#: Where a movement's ``occurred_key`` starts: after every event's (an ISO time).
MOVEMENT_PREFIX: Final = "mov#"

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


def reconciliation_key(provider: str) -> str:
    """The ``pk`` of a provider's reconciliation journal (no other ``pk`` starts ``recon#``)."""
    return f"recon#{provider}"


#: The journal item's attributes, by the placeholder names the update expressions of
#: :class:`webhook_processor.aws.dynamodb.DynamoDBStore` use.
JOURNAL_ATTRIBUTES: Final = {
    "#kind": "kind",
    "#mark": "reconciled_until",
    "#by": "claimed_by",
    "#until": "claimed_until",
}
#: What the journal item keeps of the last whole run, beside its window and when it ran.
LAST_RUN_COUNTS: Final = ("listed", "recovered", "already_stored", "ignored", "unreadable")


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


def movement_key(provider: str, transaction_id: str, kind: str, movement_id: str) -> str:
    """The ``pk`` of a refund's or capture's item. The transaction id is prefixed with its
    length: ids may hold ``#``, and ``A#refund#B`` + ``C`` must not be ``A`` + ``B#refund#C``."""
    return (
        f"{MOVEMENT_PREFIX}{provider}#{len(transaction_id)}:{transaction_id}#{kind}#{movement_id}"
    )


def movement_item(provider: str, transaction_id: str, movement: Movement) -> dict[str, Any]:
    """One refund or capture of a transaction, as its latest report says."""
    record = movement_to_record(provider, transaction_id, movement)
    return {
        "pk": movement_key(provider, transaction_id, movement.kind, movement.movement_id),
        **record,
        "kind": MOVEMENT,
        "movement_kind": movement.kind,
        "occurred_key": f"{MOVEMENT_PREFIX}{record['reported_at']}#{movement.kind}#"
        f"{movement.movement_id}",
    }


def movement_from_item(item: Mapping[str, Any]) -> Movement:
    """Inverse of :func:`movement_item`."""
    return movement_from_record({**item, "kind": item["movement_kind"]})


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


#: The publication mark's attributes on an event item, by the placeholder names the update
#: expressions of :mod:`webhook_processor.aws.publications` use.
PUBLICATION_ATTRIBUTES: Final = {
    "#state": "publication",
    "#at": "publication_at",
    "#claim": "publication_claim",
    "#error": "publication_error",
}


def key(pk: str) -> dict[str, AttributeValueTypeDef]:
    """The item's key, as GetItem and UpdateItem take it."""
    return {"pk": {"S": pk}}


def stream_item_key(record: Mapping[str, Any]) -> str:
    """The ``pk`` of the item a stream record is about, or ``?`` if it does not say."""
    return str(record["dynamodb"].get("Keys", {}).get("pk", {}).get("S", "?"))
