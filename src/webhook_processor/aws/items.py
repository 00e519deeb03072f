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
``by_recency`` (``recent_shard``, ``recent_key``) lists the latest events with a bounded query
per shard (no Scan); eight shards spread the writes. A transaction item is in neither index:
its ``by_recency`` key would move with each of its events, and an index entry whose key moves
is two index writes (the old entry's delete, the new one's put). The latest transactions are
read at their last events (:meth:`~webhook_processor.aws.dynamodb.DynamoDBStore.transaction_page`).
Transaction items written before carry ``recent_*`` attributes; their next version drops them,
and no listing reads the ``transaction#`` shards they were in.

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

from webhook_processor.model import PaymentEvent, TransactionUpdate
from webhook_processor.storage.records import (
    UPDATE_COLUMNS,
    from_record,
    movement_from_record,
    movement_to_record,
    state_from_record,
    state_to_record,
    to_record,
    update_to_record,
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
#: What an event's transaction update says of the state before it, which the state after it
#: cannot tell (see :func:`transaction_item`).
_UPDATE_BEFORE: Final = ("txn_previous_status", "txn_late", "txn_refund_reversed")
#: Where a transaction item's ``pk`` starts.
TRANSACTION_PREFIX: Final = "txn#"
#: Stream records announce new items and new versions; the store never deletes.
PUBLISHED_EVENTS: Final = ("INSERT", "MODIFY")
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
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
        {
            "IndexName": RECENCY_INDEX,
            "KeySchema": [
                {"AttributeName": "recent_shard", "KeyType": "HASH"},
                {"AttributeName": "recent_key", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
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
    return f"{TRANSACTION_PREFIX}{provider}#{transaction_id}"


#: The stream records that are publications (a transaction's new version), as a Lambda event
#: filter on the stream's mapping: the publisher is not invoked, nor billed, for the others
#: (an event's, a movement's, a journal's item). Lambda matches it on the record as the
#: publisher receives it (Lambda Developer Guide, "Filtering DynamoDB events").
PUBLICATION_FILTER: Final[dict[str, Any]] = {
    "eventName": list(PUBLISHED_EVENTS),
    "dynamodb": {"Keys": {"pk": {"S": [{"prefix": TRANSACTION_PREFIX}]}}},
}


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


def _recency(key: str, moment: str) -> dict[str, str]:
    """An event's ``by_recency`` key."""
    shard = zlib.crc32(key.encode()) % RECENCY_SHARDS
    return {"recent_shard": f"{EVENT}#{shard}", "recent_key": f"{moment}#{key}"}


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
        **_recency(key, record["received_at"]),
        **item,
    }


def from_item(item: Mapping[str, Any]) -> PaymentEvent:
    """Inverse of :func:`to_item`."""
    return from_record(item)


#: What a transaction item's ``last_event`` leaves out, because the item holds it already:
#: the event's transaction, and what its update says of the state after it (its version,
#: status and amounts are the item's own). What the update says of the state before it is kept.
_LAST_EVENT_OMITS: Final = frozenset(
    {
        "provider",
        "transaction_id",
        *(name for name in UPDATE_COLUMNS if name not in _UPDATE_BEFORE),
    }
)


def transaction_item(state: TransactionState, event: PaymentEvent) -> dict[str, Any]:
    """The transaction's item after ``event`` (stored with its update) made this version.
    Its ``last_event`` is the event the stream publishes, without what the item says already
    (an item up to 1 KB is one write unit, and the event would double it)."""
    key = transaction_key(state.provider, state.transaction_id)
    record = state_to_record(state)
    last = {
        name: value
        for name, value in to_record(event).items()
        if value is not None and name not in _LAST_EVENT_OMITS
    }
    return {
        "pk": key,
        "kind": TRANSACTION,
        **record,
        "last_event": last,
    }


def last_event(item: Mapping[str, Any]) -> PaymentEvent:
    """The event that made a transaction item's version, whole again: what ``last_event``
    leaves out is the item's own. Items written before it left anything out hold it all."""
    last = item["last_event"]
    if "txn_status" in last:
        return from_item(last)
    state = state_from_item(item)
    update = {
        **update_to_record(
            TransactionUpdate(
                status=state.status,
                previous_status=None,
                late=False,
                amount=state.amount,
                refunded=state.refunded,
                currency=state.currency,
                version=state.version,
                authorized=state.authorized,
                captured=state.captured,
                disputed=state.disputed,
            )
        ),
        **{name: last.get(name) for name in _UPDATE_BEFORE},
    }
    return from_item(
        {**last, "provider": item["provider"], "transaction_id": item["transaction_id"], **update}
    )


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
    return last_event(image)


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
