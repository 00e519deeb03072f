"""The DynamoDB store: events and their transactions in one table, on AWS.

The items are :mod:`webhook_processor.aws.items`'s. Storing an event is one
``TransactWriteItems``: the event's conditional put (``attribute_not_exists(pk)``, exactly "one
record per provider event", whatever the payload says), the transaction's put conditioned
on the version read just before, and, for an event that moved a refund or capture, that
movement's put (the version condition orders it too). Two events of one transaction that race
(two receivers, an Adyen batch) cannot both win: the loser reads again and re-applies, so every
event is applied exactly once, and a duplicate changes nothing.

The table's stream (NEW_IMAGE) is the outbox, read from the transaction items: DynamoDB orders
the stream records of one item, so a transaction's updates reach the publisher, and its
subscribers, in the order they were applied, whichever shards its events' items are on.

The reconciliation journal (:class:`~webhook_processor.storage.journal.Journal`) is one item per
provider (``recon#{provider}``): a claim is a conditional UpdateItem (no claim, our own, or an
expired one), finishing advances the high-water mark only if later (a condition, so two
finishes in any order keep the latest) and releases the claim only if this holder has it. The
events a run recovers go through :meth:`DynamoDBStore.insert_all`, the receiver's conditional
writes: a run that races a live delivery stores the event once.

The listings (:class:`~webhook_processor.storage.base.Listings`) read the indexes: the latest
events through ``by_recency`` and the latest transactions at their last events there, one
transaction's events through ``by_transaction``, and where a publication stands from the
event's mark. The indexes hold keys only, so an index entry costs one write unit whatever its
item's size; a listing reads the items it found with BatchGetItem.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from webhook_processor.aws import items
from webhook_processor.aws.errors import dynamodb_errors
from webhook_processor.errors import InvalidParameter, StorageUnavailable
from webhook_processor.model import PaymentEvent
from webhook_processor.storage.journal import CLAIM_SECONDS, Listing, Report
from webhook_processor.storage.paging import (
    EventFilter,
    Page,
    SinkDelivery,
    TransactionFilter,
    decode_cursor,
    encode_cursor,
)
from webhook_processor.storage.records import iso
from webhook_processor.transactions import (
    Movement,
    TransactionState,
    Transition,
    apply,
    movement_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Attempts to apply an event while other events of its transaction keep winning the race.
MAX_CONFLICTS: Final = 8
#: Keys one BatchGetItem may ask for, and how many rounds a listing asks for the keys it
#: leaves unprocessed.
BATCH_GET: Final = 100
BATCH_GET_ROUNDS: Final = 6
#: Pages of events one page of transactions reads at most (see ``transaction_page``).
TRANSACTION_ROUNDS: Final = 10


class DynamoDBStore:
    """An EventStore and its Listings on one DynamoDB table (see the module docstring)."""

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
        reported = movement_key(event)
        for _ in range(MAX_CONFLICTS):
            current = self.transaction(event.provider, event.transaction_id)
            known = None if reported is None else self._movement(event, *reported)
            transition = apply(current, event, known)
            stored = replace(event, transaction=transition.update)
            reasons = self._write(stored, transition, current)
            if reasons is None:
                return True
            if reasons[0] == "ConditionalCheckFailed":
                return False  # the event is stored already: a redelivery
            # Another event of this transaction was applied since the read: read it again.
        raise StorageUnavailable(
            f"DynamoDB transaction {event.transaction_id!r} kept changing while storing an event"
        )

    def _movement(self, event: PaymentEvent, kind: str, movement_id: str) -> Movement | None:
        pk = items.movement_key(event.provider, event.transaction_id, kind, movement_id)
        item = self._get(pk)
        return None if item is None else items.movement_from_item(item)

    def _write(
        self, event: PaymentEvent, transition: Transition, before: TransactionState | None
    ) -> list[str] | None:
        """Put the event, the transaction's new version and the movement it changed together;
        None if all went in, else DynamoDB's reason for each item (``ConditionalCheckFailed``,
        ``None``, ...)."""
        version = 0 if before is None else before.version
        after = transition.after
        moved: list[Any] = []
        if transition.movement_changed and transition.movement is not None:
            item = items.movement_item(event.provider, event.transaction_id, transition.movement)
            moved = [{"Put": {"TableName": self.table_name, "Item": items.serialize(item)}}]
        with dynamodb_errors("transaction write"):
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": items.serialize(items.to_item(event)),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": items.serialize(items.transaction_item(after, event)),
                                # Unchanged since the read: no other event was applied between.
                                "ConditionExpression": "attribute_not_exists(pk) OR version = :v",
                                "ExpressionAttributeValues": {":v": {"N": str(version)}},
                            }
                        },
                        *moved,
                    ]
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                return [str(reason.get("Code", "None")) for reason in reasons] or ["unknown"]
        return None

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        item = self._get(items.event_key(provider, event_id))
        return None if item is None else items.from_item(item)

    def transaction(self, provider: str, transaction_id: str) -> TransactionState | None:
        """The transaction's state now (a strongly consistent read), or None."""
        item = self._get(items.transaction_key(provider, transaction_id))
        return None if item is None else items.state_from_item(item)

    def _get(self, key: str) -> dict[str, Any] | None:
        with dynamodb_errors("get"):
            response = self._client.get_item(
                TableName=self.table_name, Key=items.key(key), ConsistentRead=True
            )
        item = response.get("Item")
        return None if item is None else items.deserialize(item)

    # -- Journal: each provider's reconciliations -----------------------------------------------

    def reconciled_until(self, provider: str) -> datetime | None:
        item = self._get(items.reconciliation_key(provider))
        mark = None if item is None else item.get("reconciled_until")
        return None if mark is None else datetime.fromisoformat(str(mark))

    def claim_reconciliation(self, provider: str, holder: str, now: datetime) -> bool:
        expires = now + timedelta(seconds=CLAIM_SECONDS)
        return self._journal(
            provider,
            "SET #kind = :kind, #by = :me, #until = :expires",
            "attribute_not_exists(#by) OR #by = :me OR #until <= :now",
            {":me": holder, ":expires": iso(expires), ":now": iso(now)},
            "claim",
        )

    def finish_reconciliation(self, report: Report, holder: str, now: datetime) -> None:
        counts = {f"last_{name}": report.count(Listing(name)) for name in items.LAST_RUN_COUNTS[1:]}
        last = {
            "last_run_at": iso(now),
            "last_since": iso(report.window.since),
            "last_until": iso(report.window.until),
            "last_listed": len(report.listings),
            **counts,
        }
        names = {f":{name}": value for name, value in last.items()}
        update = "SET #kind = :kind, " + ", ".join(f"{name} = :{name}" for name in last)
        end = {":end": iso(report.window.until)}
        # The mark only moves forward: a run that finishes after a later one keeps the later.
        advanced = report.advances_mark and self._journal(
            report.provider,
            update + ", #mark = :end",
            "attribute_not_exists(#mark) OR #mark < :end",
            {**names, **end},
            "finish",
        )
        if not advanced:
            self._journal(report.provider, update, None, names, "finish")
        self.release_reconciliation(report.provider, holder)

    def release_reconciliation(self, provider: str, holder: str) -> None:
        self._journal(provider, "REMOVE #by, #until", "#by = :me", {":me": holder}, "release")

    def _journal(
        self,
        provider: str,
        update: str,
        condition: str | None,
        values: dict[str, Any],
        what: str,
    ) -> bool:
        """Update the provider's journal item; False if ``condition`` did not hold."""
        used = {
            name: attr
            for name, attr in items.JOURNAL_ATTRIBUTES.items()
            if name in update + (condition or "")
        }
        if ":kind" in update:
            values = {**values, ":kind": items.RECONCILIATION}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": items.key(items.reconciliation_key(provider)),
            "UpdateExpression": update,
            "ExpressionAttributeNames": used,
            "ExpressionAttributeValues": items.serialize(values),
        }
        if condition is not None:
            request["ConditionExpression"] = condition
        with dynamodb_errors(f"reconciliation {what}"):
            try:
                self._client.update_item(**request)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                return False
        return True

    # -- Listings: what the table has an index for ----------------------------------------------

    def event_page(self, where: EventFilter, after: str | None, limit: int) -> Page[PaymentEvent]:
        """The latest events, newest first (``by_recency``). The table has no index for the
        local filters: a filter is refused with InvalidParameter (``timeline`` lists one
        transaction's events)."""
        if where != EventFilter():
            raise InvalidParameter("the table lists events newest first, unfiltered")
        found = self._recent(_position(items.EVENT, after), limit)
        events = [items.from_item(item) for item in found]
        full = len(found) == limit
        return Page(events, encode_cursor(items.EVENT, [found[-1]["recent_key"]]) if full else None)

    def transaction_page(
        self, where: TransactionFilter, after: str | None, limit: int
    ) -> Page[TransactionState]:
        """The latest updated transactions, newest first, unfiltered as :meth:`event_page`.

        A transaction item has no index entry of its own (its key would move on each of its
        events, two index writes each): a transaction is listed where its last event is in
        ``by_recency``, so each transaction once, at the event that made its version. A page
        reads at most :data:`TRANSACTION_ROUNDS` pages of events; one whose events belong to few
        transactions may hold fewer than ``limit``, with the cursor to go on."""
        if where != TransactionFilter():
            raise InvalidParameter("the table lists transactions latest first, unfiltered")
        position = _position(items.TRANSACTION, after)
        listed: list[TransactionState] = []
        for _ in range(TRANSACTION_ROUNDS):
            found = self._recent(position, limit)
            events = [items.from_item(item) for item in found]
            keys = [items.transaction_key(e.provider, e.transaction_id) for e in events]
            states = {
                key: items.state_from_item(item)
                for key, item in self._batch_get(list(dict.fromkeys(keys))).items()
            }
            for event, key, item in zip(events, keys, found, strict=True):
                position = str(item["recent_key"])
                state = states.get(key)
                if state is not None and state.last_event_id == event.event_id:
                    listed.append(state)
                    if len(listed) == limit:
                        return Page(listed, encode_cursor(items.TRANSACTION, [position]))
            if len(found) < limit:
                return Page(listed, None)
        return Page(listed, encode_cursor(items.TRANSACTION, [position or ""]))

    def timeline(
        self, provider: str | None, transaction_id: str, limit: int | None = None
    ) -> list[PaymentEvent]:
        found = self._of_transaction(transaction_id, "occurred_key < :m")
        events = [items.from_item(item) for item in found]
        return [event for event in events if provider in (None, event.provider)][:limit]

    def movements(
        self, provider: str, transaction_id: str, limit: int | None = None
    ) -> list[Movement]:
        found = self._of_transaction(transaction_id, "begins_with(occurred_key, :m)")
        chosen = [items.movement_from_item(item) for item in found if item["provider"] == provider]
        return chosen[:limit]

    def _of_transaction(self, transaction_id: str, condition: str) -> list[dict[str, Any]]:
        """One transaction's items in ``by_transaction``: its events sort before its movements
        (``:m`` is where the movements' sort keys start)."""
        return self._whole(
            self._query(
                IndexName=items.TRANSACTION_INDEX,
                KeyConditionExpression=f"transaction_id = :t AND {condition}",
                ExpressionAttributeValues={
                    ":t": {"S": transaction_id},
                    ":m": {"S": items.MOVEMENT_PREFIX},
                },
            )
        )

    def deliveries(self, keys: Sequence[str]) -> dict[str, list[SinkDelivery]]:
        """Where each event's publication stands: the stream's (it publishes every stored
        event at least once) unless the publisher handed the event off, then its mark's
        (``handed_off``, ``redriving``, ``redriven``). The stream counts no attempts."""
        # Only the operator's listings read the marks: the receiver never loads them.
        from webhook_processor.aws.publications import Publications

        publications = Publications(self.table_name, self._client)
        found: dict[str, list[SinkDelivery]] = {}
        for key in keys:
            provider, _, event_id = key.partition(":")
            mark = publications.get(provider, event_id)
            state = STREAM if mark is None else mark.state.value
            found[key] = [SinkDelivery(STREAM, state, None, None if mark is None else mark.error)]
        return found

    def _recent(self, before: str | None, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` newest event items received before ``before`` (a ``recent_key``), or
        the newest: a bounded query of each shard's keys, merged, and those items read."""
        condition, values = "recent_shard = :s", {}
        if before is not None:
            condition += " AND recent_key < :after"
            values[":after"] = {"S": before}
        found: list[dict[str, Any]] = []
        for shard in range(items.RECENCY_SHARDS):
            found += self._query(
                IndexName=items.RECENCY_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeValues={":s": {"S": f"{items.EVENT}#{shard}"}, **values},
                ScanIndexForward=False,
                Limit=limit,
                pages=1,
            )
        found.sort(key=lambda entry: str(entry["recent_key"]), reverse=True)
        return self._whole(found[:limit])

    def _whole(self, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of index entries, in their order: the indexes hold keys only (an entry
        is then one write unit whatever its item's size), so the items are read from the
        table, a hundred a request."""
        keys = [str(entry["pk"]) for entry in found]
        whole: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), BATCH_GET):
            whole.update(self._batch_get(keys[start : start + BATCH_GET]))
        # An index entry is written after its item (indexes are updated asynchronously) and
        # the store deletes nothing, so every entry's item is found.
        return [whole[str(entry["pk"])] for entry in found if str(entry["pk"]) in whole]

    def _batch_get(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The items of ``keys`` (at most :data:`BATCH_GET`), by ``pk``; what DynamoDB leaves
        unprocessed is asked again."""
        request: Any = {self.table_name: {"Keys": [items.key(k) for k in dict.fromkeys(keys)]}}
        found: dict[str, dict[str, Any]] = {}
        with dynamodb_errors("batch get"):
            for attempt in range(BATCH_GET_ROUNDS):
                if attempt:
                    time.sleep(0.05 * 2**attempt)  # unprocessed keys: the table is throttling
                answer = self._client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.table_name, []):
                    item = items.deserialize(raw)
                    found[str(item["pk"])] = item
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    return found
        raise StorageUnavailable("DynamoDB kept leaving keys of a listing unprocessed")

    def _query(self, *, pages: int | None = None, **query: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        query["TableName"] = self.table_name
        with dynamodb_errors("query"):
            while True:
                page = self._client.query(**query)
                found += [items.deserialize(item) for item in page.get("Items", [])]
                if pages is not None:
                    pages -= 1
                if "LastEvaluatedKey" not in page or pages == 0:
                    return found
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


#: Where an event stands that the stream publishes (the only sink on AWS: the topic).
STREAM: Final = "stream"


def _position(kind: str, cursor: str | None) -> str | None:
    """Where a page of the listing ``kind`` starts in ``by_recency``: None for the newest."""
    return None if cursor is None else decode_cursor(kind, cursor, 1)[0]
