"""The SQLite queries behind every listing (:class:`~webhook_processor.storage.base.Listings`):
the inspector's pages and the CLI's tables read the same ones, each walking one index in its
own order.

Which index a listing walks follows from its filters:

* events, newest first: ``events_by_received``, or ``events_by_provider`` for one provider;
  ``delivered`` is checked beside each row (most events are delivered, so few are skipped);
* events still ``pending`` or ``dead``: the outbox or the dead letters, in key order (keys
  start with the provider, so a provider is a range of them);
* a search: the events of the keys asked for, then ``events_by_transaction``;
* a timeline: ``events_by_transaction``, in provider time order;
* transactions, latest update first: ``transactions_by_update``, ``transactions_by_provider``
  or ``transactions_by_status`` (a provider with a status walks the status index and skips the
  other providers' rows); by id, ``transactions_by_id``;
* dead letters, oldest failure first: ``dead_letters_by_failure``.

:func:`page_queries` lists one query of each shape, and the tests check that ``EXPLAIN QUERY
PLAN`` shows no scan and no sort of a whole table for any of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from webhook_processor.local.sqlite.schema import SELECT_EVENT
from webhook_processor.model import PaymentEvent
from webhook_processor.storage.base import DeadLetter
from webhook_processor.storage.paging import (
    EventFilter,
    Page,
    SinkDelivery,
    TransactionFilter,
    decode_cursor,
    encode_cursor,
)
from webhook_processor.storage.records import from_record, iso, state_from_record
from webhook_processor.transactions import TransactionState

Query = tuple[str, list[Any]]

#: Reads rows: the store's reader connection of the calling thread.
Read = Callable[[str, Sequence[Any]], list[sqlite3.Row]]

_DELIVERED: Final = (
    "NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key = e.key) "
    "AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.key = e.key)"
)
_PENDING: Final = "EXISTS (SELECT 1 FROM outbox o WHERE o.key = e.key)"
_DEAD: Final = "EXISTS (SELECT 1 FROM dead_letters d WHERE d.key = e.key)"


#: Events a page of delivered events looks at, at most: delivered is the absence of outbox rows
#: and dead letters, which no index holds, so each page examines a bounded window of the newest
#: events and says where to go on; a page can come back short, or empty, with a cursor.
DELIVERED_WINDOW: Final = 500


def events_query(where: EventFilter, after: str | None, limit: int) -> Query:
    """Stored events, newest first, or (``pending``, ``dead``) in key order. Delivered events:
    the window of the newest :data:`DELIVERED_WINDOW`, each with a ``delivered`` column."""
    if where.delivery in ("pending", "dead"):
        return _undelivered_query(where, after, limit)
    columns = SELECT_EVENT
    conditions, params = [], []
    if where.provider is not None:
        conditions.append("e.provider = ?")
        params.append(where.provider)
    if after is not None:
        conditions.append("(e.received_at, e.key) < (?, ?)")
        params += decode_cursor("events", after, 2)
    if where.delivery == "delivered":
        columns = f"{columns}, ({_DELIVERED}) AS delivered"
        limit = DELIVERED_WINDOW
    sql = (
        f"SELECT {columns} FROM events e{_where(conditions)} "
        "ORDER BY e.received_at DESC, e.key DESC LIMIT ?"
    )
    return sql, [*params, limit]


def _undelivered_query(where: EventFilter, after: str | None, limit: int) -> Query:
    table = "outbox" if where.delivery == "pending" else "dead_letters"
    conditions, params = [], []
    if where.provider is not None:
        # Keys are "provider:event_id", and ";" is the character after ":".
        conditions.append("q.key >= ? AND q.key < ?")
        params += [f"{where.provider}:", f"{where.provider};"]
    if after is not None:
        conditions.append("q.key < ?")
        params += decode_cursor(where.delivery or "", after, 1)
    sql = (
        f"SELECT {SELECT_EVENT} FROM {table} q CROSS JOIN events e ON e.key = q.key"
        f"{_where(conditions)} GROUP BY q.key ORDER BY q.key DESC LIMIT ?"
    )
    return sql, [*params, limit]


def keys_query(where: EventFilter) -> Query:
    """The events of the keys searched for, narrowed by the other filters."""
    marks = ", ".join("?" * len(where.keys))
    conditions, params = [f"e.key IN ({marks})"], list(where.keys)
    conditions, params = _narrow(where, conditions, params)
    return f"SELECT {SELECT_EVENT} FROM events e{_where(conditions)}", params


def transaction_events_query(where: EventFilter, after: str | None, limit: int) -> Query:
    """The events of the transaction searched for, newest by provider time first."""
    conditions, params = ["e.transaction_id = ?"], [where.transaction_id]
    if after is not None:
        conditions.append("(e.occurred_at, e.received_at, e.key) < (?, ?, ?)")
        params += decode_cursor("search", after, 3)
    conditions, params = _narrow(where, conditions, params)
    sql = (
        f"SELECT {SELECT_EVENT} FROM events e{_where(conditions)} "
        "ORDER BY e.occurred_at DESC, e.received_at DESC, e.key DESC LIMIT ?"
    )
    return sql, [*params, limit]


def _narrow(
    where: EventFilter, conditions: list[str], params: list[Any]
) -> tuple[list[str], list[Any]]:
    conditions = list(conditions)
    params = list(params)
    if where.provider is not None:
        conditions.append("e.provider = ?")
        params.append(where.provider)
    if where.delivery is not None:
        conditions.append(
            {"pending": _PENDING, "dead": _DEAD, "delivered": _DELIVERED}[where.delivery]
        )
    return conditions, params


def transactions_query(where: TransactionFilter, after: str | None, limit: int) -> Query:
    """Transactions, latest update first; by id, the (few) providers' transactions of it."""
    conditions, params = [], []
    if where.transaction_id is not None:
        conditions.append("transaction_id = ?")
        params.append(where.transaction_id)
    if where.provider is not None:
        conditions.append("provider = ?")
        params.append(where.provider)
    if where.status is not None:
        conditions.append("status = ?")
        params.append(where.status)
    if where.transaction_id is not None:
        # One row per provider at most: no order, no page.
        return f"SELECT * FROM transactions{_where(conditions)}", params
    if after is not None:
        conditions.append("(updated_at, provider, transaction_id) < (?, ?, ?)")
        params += decode_cursor("transactions", after, 3)
    sql = (
        f"SELECT * FROM transactions{_where(conditions)} "
        "ORDER BY updated_at DESC, provider DESC, transaction_id DESC LIMIT ?"
    )
    return sql, [*params, limit]


def dead_letters_query(after: str | None, limit: int) -> Query:
    """Dead letters, oldest failure first, each with its event."""
    conditions, params = [], []
    if after is not None:
        conditions.append("(d.failed_at, d.key, d.sink) > (?, ?, ?)")
        params += decode_cursor("dead-letters", after, 3)
    sql = (
        f"SELECT {SELECT_EVENT}, d.sink, d.attempts, d.last_error, d.failed_at, d.transient "
        f"FROM dead_letters d CROSS JOIN events e ON e.key = d.key{_where(conditions)} "
        "ORDER BY d.failed_at, d.key, d.sink LIMIT ?"
    )
    return sql, [*params, limit]


def timeline_query(provider: str | None, transaction_id: str, limit: int | None) -> Query:
    """The first ``limit`` events (all: -1) of one transaction (of every provider's transaction
    of that id if ``provider`` is None), in provider time order."""
    conditions, params = ["e.transaction_id = ?"], [transaction_id]
    if provider is not None:
        conditions.append("e.provider = ?")
        params.append(provider)
    sql = (
        f"SELECT {SELECT_EVENT} FROM events e{_where(conditions)} "
        "ORDER BY e.occurred_at, e.received_at, e.key LIMIT ?"
    )
    return sql, [*params, -1 if limit is None else limit]


def deliveries_queries(keys: Sequence[str]) -> tuple[Query, Query]:
    """The outbox entries and dead letters of ``keys`` (one page of events)."""
    marks = ", ".join("?" * len(keys))
    return (
        (f"SELECT key, sink, attempts, last_error FROM outbox WHERE key IN ({marks})", [*keys]),
        (
            f"SELECT key, sink, attempts, last_error FROM dead_letters WHERE key IN ({marks})",
            [*keys],
        ),
    )


def _where(conditions: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def page_queries() -> dict[str, Query]:
    """One query of every shape the inspector runs, with example parameters, for
    ``EXPLAIN QUERY PLAN``."""
    cursor_events = _example_cursor("events", 2)
    queries = {
        "events": events_query(EventFilter(), cursor_events, 50),
        "events of a provider": events_query(EventFilter("stripe"), cursor_events, 50),
        "delivered events": events_query(EventFilter("stripe", "delivered"), cursor_events, 50),
        "transactions by id": transactions_query(
            TransactionFilter(transaction_id="pi_1"), None, 50
        ),
        "dead letters": dead_letters_query(_example_cursor("dead-letters", 3), 50),
        "timeline": timeline_query("stripe", "pi_1", 500),
        "timeline of every provider": timeline_query(None, "pi_1", None),
        "outbox of a page": deliveries_queries(["stripe:evt_1", "stripe:evt_2"])[0],
        "dead letters of a page": deliveries_queries(["stripe:evt_1", "stripe:evt_2"])[1],
    }
    for state in ("pending", "dead"):
        queries[f"{state} events"] = events_query(
            EventFilter("stripe", state), _example_cursor(state, 1), 50
        )
    search = EventFilter("stripe", "dead", ("stripe:evt_1", "evt_1"), "evt_1")
    queries["search by key"] = keys_query(search)
    queries["search by transaction"] = transaction_events_query(
        search, _example_cursor("search", 3), 50
    )
    cursor_transactions = _example_cursor("transactions", 3)
    for name, where in (
        ("transactions", TransactionFilter()),
        ("transactions of a provider", TransactionFilter(provider="stripe")),
        ("transactions in a status", TransactionFilter(status="refunded")),
        ("transactions of a provider in a status", TransactionFilter("stripe", "refunded")),
    ):
        queries[name] = transactions_query(where, cursor_transactions, 50)
    return queries


def _example_cursor(kind: str, size: int) -> str:
    return encode_cursor(kind, ["2026-11-28T12:00:00.000000+00:00"] * size)


class Pages:
    """The listings of one SQLite store, read through ``read``."""

    def __init__(self, read: Read) -> None:
        self._read = read

    def event_page(self, where: EventFilter, after: str | None, limit: int) -> Page[PaymentEvent]:
        if where.is_search:
            return self._search_page(where, after, limit)
        rows = self._read(*events_query(where, after, limit))
        if where.delivery == "delivered":
            return _delivered_page(rows, limit)
        found = [from_record(row) for row in rows]
        if len(found) < limit:
            return Page(found, None)
        last = found[-1]
        if where.delivery in ("pending", "dead"):
            return Page(found, encode_cursor(where.delivery, [last.key]))
        return Page(found, encode_cursor("events", [iso(last.received_at), last.key]))

    def _search_page(self, where: EventFilter, after: str | None, limit: int) -> Page[PaymentEvent]:
        hits: list[PaymentEvent] = []
        if where.keys and after is None:
            rows = self._read(*keys_query(where))
            hits = sorted((from_record(row) for row in rows), key=lambda event: event.key)
        if where.transaction_id is None:
            return Page(hits, None)
        rows = self._read(*transaction_events_query(where, after, limit))
        of_transaction = [from_record(row) for row in rows]
        seen = {event.key for event in hits}
        found = hits + [event for event in of_transaction if event.key not in seen]
        if len(of_transaction) < limit:
            return Page(found, None)
        last = of_transaction[-1]
        return Page(
            found,
            encode_cursor("search", [iso(last.occurred_at), iso(last.received_at), last.key]),
        )

    def transaction_page(
        self, where: TransactionFilter, after: str | None, limit: int
    ) -> Page[TransactionState]:
        found = [
            state_from_record(row) for row in self._read(*transactions_query(where, after, limit))
        ]
        if where.transaction_id is not None:
            return Page(sorted(found, key=lambda state: state.provider), None)
        if len(found) < limit:
            return Page(found, None)
        last = found[-1]
        updated = iso(last.updated_at) if last.updated_at is not None else ""
        return Page(
            found, encode_cursor("transactions", [updated, last.provider, last.transaction_id])
        )

    def dead_letter_page(self, after: str | None, limit: int) -> Page[DeadLetter]:
        rows = self._read(*dead_letters_query(after, limit))
        found = [dead_letter_from_row(row) for row in rows]
        if len(found) < limit:
            return Page(found, None)
        last = found[-1]
        return Page(
            found, encode_cursor("dead-letters", [iso(last.failed_at), last.key, last.sink])
        )

    def timeline(
        self, provider: str | None, transaction_id: str, limit: int | None
    ) -> list[PaymentEvent]:
        rows = self._read(*timeline_query(provider, transaction_id, limit))
        return [from_record(row) for row in rows]

    def deliveries(self, keys: Sequence[str]) -> dict[str, list[SinkDelivery]]:
        found: dict[str, list[SinkDelivery]] = {key: [] for key in keys}
        if not keys:
            return found
        pending, dead = deliveries_queries(keys)
        for state, query in (("pending", pending), ("dead", dead)):
            for row in self._read(*query):
                found[row["key"]].append(
                    SinkDelivery(row["sink"], state, row["attempts"], row["last_error"])
                )
        return found


def _delivered_page(window: list[sqlite3.Row], limit: int) -> Page[PaymentEvent]:
    """The first ``limit`` delivered events of a window; the cursor after the last one taken,
    or after the whole window when it was full and gave fewer."""
    taken = []
    for row in window:
        if row["delivered"]:
            taken.append(row)
            if len(taken) == limit:
                break
    last = (
        taken[-1]
        if len(taken) == limit
        else window[-1]
        if len(window) == DELIVERED_WINDOW
        else None
    )
    cursor = None if last is None else encode_cursor("events", [last["received_at"], last["key"]])
    return Page([from_record(row) for row in taken], cursor)


def dead_letter_from_row(row: sqlite3.Row) -> DeadLetter:
    """A ``dead_letters`` row joined to its event."""
    return DeadLetter(
        row["key"],
        row["sink"],
        from_record(row),
        row["attempts"],
        row["last_error"],
        datetime.fromisoformat(row["failed_at"]),
        bool(row["transient"]),
    )
