"""The SQLite store: the local processor's durable event store and outbox.

Durability: WAL journal with ``synchronous=FULL``, so a committed transaction has been fsync'd
and a 2xx is never sent for an event a power cut could lose.

Throughput: every write goes through one :class:`~webhook_processor.local.sqlite.writer.
GroupCommitWriter`, which commits whatever is queued in a single transaction and only then
answers each caller. Reads use one connection per thread; WAL lets them run beside the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from webhook_processor.errors import StorageUnavailable
from webhook_processor.local.sqlite import outbox
from webhook_processor.local.sqlite.pages import (
    PageReads,
    dead_letter_from_row,
    page_queries,
)
from webhook_processor.local.sqlite.writer import Bulk, GroupCommitWriter, storage_errors
from webhook_processor.model import PaymentEvent, TransactionUpdate
from webhook_processor.money import format_amount
from webhook_processor.storage.base import (
    EVERY_SINK,
    DeadLetter,
    Delivery,
    EventRecord,
    OutboxItem,
)
from webhook_processor.storage.records import (
    UPDATE_COLUMNS,
    from_record,
    iso,
    state_from_record,
    state_to_record,
    to_record,
    update_to_record,
)
from webhook_processor.transactions import (
    TransactionState,
    apply,
)

#: Dead letters a redrive moves back to the outbox in one transaction.
REDRIVE_BATCH: Final = 500

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    key             TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    transaction_id  TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    amount          TEXT NOT NULL,   -- exact decimal text, never REAL
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    customer_id     TEXT,
    payment_method  TEXT,
    metadata        TEXT NOT NULL,   -- JSON, decimals exact
    occurred_at     TEXT NOT NULL,   -- ISO 8601 UTC, microseconds: sorts as text
    received_at     TEXT NOT NULL,
    delivered_at    TEXT,
    {event_additions}
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_transaction
    ON events (transaction_id, occurred_at, received_at);
CREATE INDEX IF NOT EXISTS events_by_received ON events (received_at);
CREATE INDEX IF NOT EXISTS events_by_provider ON events (provider, received_at);
CREATE TABLE IF NOT EXISTS outbox (
    key             TEXT NOT NULL REFERENCES events (key),
    sink            TEXT NOT NULL,   -- '' until a sink is registered: see register_sinks
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    PRIMARY KEY (key, sink)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (sink, next_attempt_at);
{transactions}
CREATE TABLE IF NOT EXISTS dead_letters (
    key             TEXT NOT NULL REFERENCES events (key),
    sink            TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    failed_at       TEXT NOT NULL,
    transient       INTEGER NOT NULL,  -- the sink failed, not the event: redriven on recovery
    PRIMARY KEY (key, sink)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dead_letters_by_failure ON dead_letters (failed_at);
"""

#: What storing each event did to its transaction (:class:`TransactionUpdate`), beside it, and
#: the provider's own ordering and refund identity. Added to an existing database on open.
EVENT_ADDITIONS: Final = {
    "sequence": "INTEGER",
    "refund_id": "TEXT",
    "txn_status": "TEXT",
    "txn_previous_status": "TEXT",
    "txn_late": "INTEGER",
    "txn_amount": "TEXT",  # exact decimal text
    "txn_refunded": "TEXT",
    "txn_currency": "TEXT",
    "txn_version": "INTEGER",
}

#: Each transaction's state after every event applied to it, and the columns it is listed by.
TRANSACTIONS: Final = """
CREATE TABLE IF NOT EXISTS transactions (
    provider        TEXT NOT NULL,
    transaction_id  TEXT NOT NULL,
    status          TEXT NOT NULL,
    amount          TEXT NOT NULL,
    refunded        TEXT NOT NULL,
    currency        TEXT NOT NULL,
    dimensions      TEXT NOT NULL,   -- JSON: the state's three dimensions, exact
    event_count     INTEGER NOT NULL,
    late_count      INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    last_event_id   TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (provider, transaction_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS transactions_by_update ON transactions (updated_at);
CREATE INDEX IF NOT EXISTS transactions_by_provider ON transactions (provider, updated_at);
CREATE INDEX IF NOT EXISTS transactions_by_status ON transactions (status, updated_at);
CREATE INDEX IF NOT EXISTS transactions_by_provider_status
    ON transactions (provider, status, updated_at);
-- Never rewritten by an update (an id does not change): found by id without its provider.
CREATE INDEX IF NOT EXISTS transactions_by_id ON transactions (transaction_id);
"""

#: The first schema kept one outbox row per event with the sinks that took it; its entries are
#: carried over as entries for every sink (at least once: a sink may see an event again).
_MIGRATE_FROM_ONE_OUTBOX: Final = """
BEGIN IMMEDIATE;
DROP INDEX IF EXISTS outbox_due;
ALTER TABLE outbox RENAME TO outbox_v1;
ALTER TABLE dead_letters RENAME TO dead_letters_v1;
{schema}
INSERT INTO outbox (key, sink, attempts, next_attempt_at, last_error)
    SELECT key, '', attempts, next_attempt_at, last_error FROM outbox_v1;
INSERT INTO dead_letters (key, sink, attempts, last_error, failed_at, transient)
    SELECT key, '', attempts, last_error, failed_at, 0 FROM dead_letters_v1;
DROP TABLE outbox_v1;
DROP TABLE dead_letters_v1;
COMMIT;
"""


def _schema() -> str:
    additions = ",\n    ".join(f"{name} {kind}" for name, kind in EVENT_ADDITIONS.items())
    return SCHEMA.format(event_additions=additions, transactions=TRANSACTIONS)


#: The event columns: the keys of :func:`_event_row`, bound by name.
EVENT_COLUMNS: Final = (
    "key",
    "provider",
    "event_id",
    "transaction_id",
    "event_type",
    "amount",
    "currency",
    "status",
    "customer_id",
    "payment_method",
    "metadata",
    "occurred_at",
    "received_at",
    *EVENT_ADDITIONS,
)
_SELECT_EVENT: Final = ", ".join(f"e.{column}" for column in EVENT_COLUMNS)
_INSERT_EVENT: Final = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + column for column in EVENT_COLUMNS)}) ON CONFLICT (key) DO NOTHING"
)


#: The queries the inspection commands and the page list with: each reads a bounded number of
#: rows through an index, whatever the number of events stored (``make bench`` measures it;
#: ``EXPLAIN QUERY PLAN`` of each is in the tests).
RECENT_EVENTS: Final = (
    f"SELECT {_SELECT_EVENT}, "
    "(SELECT MAX(attempts) FROM outbox o WHERE o.key = e.key) AS pending_attempts, "
    "(SELECT last_error FROM outbox o WHERE o.key = e.key "
    " ORDER BY attempts DESC LIMIT 1) AS pending_error, "
    "(SELECT MAX(attempts) FROM dead_letters d WHERE d.key = e.key) AS dead_attempts, "
    "(SELECT last_error FROM dead_letters d WHERE d.key = e.key "
    " ORDER BY attempts DESC LIMIT 1) AS dead_error "
    "FROM events e ORDER BY e.received_at DESC, e.key DESC LIMIT ?"
)
RECENT_TRANSACTIONS: Final = (
    "SELECT * FROM transactions "
    "ORDER BY updated_at DESC, provider DESC, transaction_id DESC LIMIT ?"
)
# CROSS JOIN keeps dead_letters the outer loop: read in failure order through its index, each
# event found by its key, never a scan of the events.
DEAD_LETTERS: Final = (
    f"SELECT {_SELECT_EVENT}, d.sink, d.attempts, d.last_error, d.failed_at, d.transient "
    "FROM dead_letters d CROSS JOIN events e ON e.key = d.key "
    "ORDER BY d.failed_at, d.key, d.sink LIMIT ?"
)
TIMELINE: Final = (
    f"SELECT {_SELECT_EVENT} FROM events e WHERE transaction_id = ? "
    "ORDER BY occurred_at, received_at, key"
)
#: Each listing query with example parameters, for ``EXPLAIN QUERY PLAN``: the CLI's, then
#: every shape of the inspector's pages.
LISTING_QUERIES: Final[dict[str, tuple[str, Sequence[Any]]]] = {
    "events": (RECENT_EVENTS, (20,)),
    "transactions": (RECENT_TRANSACTIONS, (20,)),
    "dead-letters": (DEAD_LETTERS, (20,)),
    "transaction": (TIMELINE, ("pi_1000",)),
    **{f"page: {name}": query for name, query in page_queries(_SELECT_EVENT).items()},
}


class SQLiteStore(PageReads):
    """A LocalStore in one SQLite file."""

    _event_columns = _SELECT_EVENT

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._readers = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._sinks: tuple[str, ...] = ()
        try:
            _create_private(self.path)
            writer = self.connect()
            columns = {row[1] for row in writer.execute("PRAGMA table_info(outbox)")}
            if "delivered_to" in columns:
                writer.executescript(_MIGRATE_FROM_ONE_OUTBOX.format(schema=_schema()))
            else:
                writer.executescript(_schema())
            _add_transactions(writer)
        except (OSError, sqlite3.Error) as exc:
            raise StorageUnavailable(f"cannot open the SQLite store at {self.path}: {exc}") from exc
        self._writer = GroupCommitWriter(writer)

    # -- EventStore -------------------------------------------------------------------------

    def insert_all(self, events: Sequence[PaymentEvent]) -> list[bool]:
        return self._writer.write(_Insert(events, self._sinks or (EVERY_SINK,)))

    async def insert_all_async(self, events: Sequence[PaymentEvent]) -> list[bool]:
        return await self._writer.write_async(_Insert(events, self._sinks or (EVERY_SINK,)))

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        rows = self._read(
            f"SELECT {_SELECT_EVENT} FROM events e WHERE key = ?", (f"{provider}:{event_id}",)
        )
        return _event(rows[0]) if rows else None

    def transaction(self, provider: str, transaction_id: str) -> TransactionState | None:
        rows = self._read(
            "SELECT * FROM transactions WHERE provider = ? AND transaction_id = ?",
            (provider, transaction_id),
        )
        return state_from_record(rows[0]) if rows else None

    def events_for_transaction(self, transaction_id: str) -> list[PaymentEvent]:
        return [_event(row) for row in self._read(TIMELINE, (transaction_id,))]

    # -- outbox -----------------------------------------------------------------------------

    def run_on(self, loop: asyncio.AbstractEventLoop) -> None:
        self._writer.run_on(loop)

    def register_sinks(self, names: Sequence[str]) -> None:
        self._writer.write(outbox.fan_out(names))
        self._sinks = tuple(names)

    def due(self, sink: str, now: datetime, limit: int) -> list[OutboxItem]:
        rows = self._read(
            f"SELECT {_SELECT_EVENT}, o.attempts FROM outbox o JOIN events e USING (key) "
            "WHERE o.sink = ? AND o.next_attempt_at <= ? "
            "ORDER BY o.next_attempt_at, o.key LIMIT ?",
            (sink, iso(now), limit),
        )
        return [OutboxItem(_event(row), row["attempts"]) for row in rows]

    def complete_deliveries(self, sink: str, keys: Sequence[str], at: datetime) -> None:
        self._writer.write(outbox.complete(sink, keys, at))

    def fail_delivery(
        self,
        sink: str,
        key: str,
        error: str,
        *,
        at: datetime,
        retry_at: datetime | None,
        transient: bool = True,
    ) -> None:
        self._writer.write(
            outbox.fail(sink, key, error, at=at, retry_at=retry_at, transient=transient)
        )

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        rows = self._read(DEAD_LETTERS, (-1 if limit is None else limit,))
        return [dead_letter_from_row(row) for row in rows]

    def redrive(self, keys: Sequence[str] | None, now: datetime) -> list[str]:
        # A transaction per REDRIVE_BATCH letters, not one for all: the webhooks' writes queued
        # behind a redrive of a million wait for one batch, not for the million.
        queued: list[str] = []
        if keys is not None:
            for start in range(0, len(keys), REDRIVE_BATCH):
                batch = keys[start : start + REDRIVE_BATCH]
                queued += self._writer.write(outbox.redrive(batch, now, self._sinks))
            return queued
        while True:  # in key order, each letter once, whatever fails again meanwhile
            after = queued[-1] if queued else ""
            work = outbox.redrive(None, now, self._sinks, after=after, limit=REDRIVE_BATCH)
            batch = self._writer.write(work)
            queued += batch
            if len(batch) < REDRIVE_BATCH:
                return queued

    def redrive_transient(self, sink: str, now: datetime, limit: int | None = None) -> int:
        return self._writer.write(outbox.redrive_transient(sink, now, limit))

    # -- inspection -------------------------------------------------------------------------

    def recent_events(self, limit: int) -> list[EventRecord]:
        return [_record(row) for row in self._read(RECENT_EVENTS, (limit,))]

    def transactions(self, limit: int) -> list[TransactionState]:
        return [state_from_record(row) for row in self._read(RECENT_TRANSACTIONS, (limit,))]

    def close(self) -> None:
        """Finish queued writes, stop the writer, close every connection."""
        self._writer.close()
        with self._lock:
            for conn in self._reader_connections:
                conn.close()
            self._reader_connections.clear()

    # -- connections ------------------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """A connection with the store's durability settings and named-column rows."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _read(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        with storage_errors("read"):
            conn = getattr(self._readers, "conn", None)
            if conn is None:
                conn = self.connect()
                self._readers.conn = conn
                with self._lock:
                    self._reader_connections.append(conn)
            return conn.execute(sql, params).fetchall()


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, in a directory of its own mode
    0700 if it is created here. SQLite gives the WAL and shared-memory files the database
    file's mode, so payment data is never readable by other users of the machine."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        # A database created before this rule keeps its old mode otherwise.
        with contextlib.suppress(FileNotFoundError):
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


class _Insert(Bulk):
    """One caller's events and the sinks to queue them for; the writer inserts the events of
    every caller in its group with a handful of statements (see :class:`Bulk`), and applies
    each new one to its transaction in the same transaction."""

    def __init__(self, events: Sequence[PaymentEvent], sinks: Sequence[str]) -> None:
        self.events = list(events)
        self.rows = [_event_row(event) for event in events]
        self.sinks = sinks

    @staticmethod
    def run_many(conn: sqlite3.Connection, works: list[_Insert]) -> list[list[bool]]:
        keys = list({row["key"] for work in works for row in work.rows})
        stored: set[str] = set()
        for start in range(0, len(keys), 500):  # SQLite binds at most 999 parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            stored.update(
                r[0] for r in conn.execute(f"SELECT key FROM events WHERE key IN ({marks})", chunk)
            )
        new_rows, new_events, outbox, results = [], [], [], []
        for work in works:
            inserted = []
            for event, row in zip(work.events, work.rows, strict=True):
                is_new = row["key"] not in stored
                if is_new:  # the first delivery in this group wins; a copy is a duplicate
                    stored.add(row["key"])
                    new_rows.append(row)
                    new_events.append(event)
                    outbox += [(row["key"], sink, row["received_at"]) for sink in work.sinks]
                inserted.append(is_new)
            results.append(inserted)
        states = _Transactions.load(conn, new_events)
        for event, row in zip(new_events, new_rows, strict=True):
            row.update(_update_row(states.apply(event)))
        states.save(conn)
        conn.executemany(_INSERT_EVENT, new_rows)
        conn.executemany("INSERT INTO outbox (key, sink, next_attempt_at) VALUES (?, ?, ?)", outbox)
        return results


class _Transactions:
    """The states of the transactions a group of events touches: read once, applied to in
    order, written back once."""

    def __init__(self, states: dict[tuple[str, str], TransactionState | None]) -> None:
        self._states = states
        self._touched: set[tuple[str, str]] = set()

    @classmethod
    def load(cls, conn: sqlite3.Connection, events: Sequence[PaymentEvent]) -> _Transactions:
        wanted = list(dict.fromkeys((event.provider, event.transaction_id) for event in events))
        states: dict[tuple[str, str], TransactionState | None] = dict.fromkeys(wanted)
        for start in range(0, len(wanted), 400):  # two parameters each; at most 999 bound
            chunk = wanted[start : start + 400]
            marks = " OR ".join(["(provider = ? AND transaction_id = ?)"] * len(chunk))
            params = [value for pair in chunk for value in pair]
            for row in conn.execute(f"SELECT * FROM transactions WHERE {marks}", params):
                states[(row["provider"], row["transaction_id"])] = state_from_record(row)
        return cls(states)

    def apply(self, event: PaymentEvent) -> TransactionUpdate:
        key = (event.provider, event.transaction_id)
        transition = apply(self._states[key], event)
        self._states[key] = transition.after
        self._touched.add(key)
        return transition.update

    def save(self, conn: sqlite3.Connection) -> None:
        rows = [_state_row(self._states[key]) for key in sorted(self._touched)]
        conn.executemany(_UPSERT_TRANSACTION, rows)


_TRANSACTION_COLUMNS: Final = (
    "provider",
    "transaction_id",
    "status",
    "amount",
    "refunded",
    "currency",
    "dimensions",
    "event_count",
    "late_count",
    "version",
    "last_event_id",
    "updated_at",
)
_UPSERT_TRANSACTION: Final = (
    f"INSERT INTO transactions ({', '.join(_TRANSACTION_COLUMNS)}) "
    f"VALUES ({', '.join(':' + column for column in _TRANSACTION_COLUMNS)}) "
    "ON CONFLICT (provider, transaction_id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _TRANSACTION_COLUMNS[2:])
)


def _state_row(state: TransactionState | None) -> dict[str, Any]:
    if state is None:  # every touched transaction has had an event applied
        raise ValueError("no state to save")
    record = state_to_record(state)
    return {
        **record,
        "amount": format_amount(state.amount),
        "refunded": format_amount(state.refunded),
    }


def _update_row(update: TransactionUpdate) -> dict[str, Any]:
    """The update's columns, amounts as their exact text, ``late`` as 0 or 1."""
    record = update_to_record(update)
    return {
        **record,
        "txn_late": int(update.late),
        "txn_amount": format_amount(update.amount),
        "txn_refunded": format_amount(update.refunded),
    }


def _add_transactions(conn: sqlite3.Connection) -> None:
    """Bring a database written before transactions were kept up to date: add the event
    columns it lacks, then apply its events to their transactions in the order received."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    missing = [name for name in EVENT_ADDITIONS if name not in columns]
    if not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    for name in missing:
        conn.execute(f"ALTER TABLE events ADD COLUMN {name} {EVENT_ADDITIONS[name]}")
    events = [
        from_record(row)
        for row in conn.execute(f"SELECT {_SELECT_EVENT} FROM events e ORDER BY received_at, key")
    ]
    states = _Transactions.load(conn, events)
    updates = [{**_update_row(states.apply(event)), "key": event.key} for event in events]
    states.save(conn)
    assignments = ", ".join(f"{column} = :{column}" for column in UPDATE_COLUMNS)
    conn.executemany(f"UPDATE events SET {assignments} WHERE key = :key", updates)
    conn.execute("COMMIT")


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _event_row(event: PaymentEvent) -> dict[str, Any]:
    """The event's record with its key, the amount as its exact text (SQLite has no decimal)."""
    record = to_record(event)
    return {**record, "key": event.key, "amount": format_amount(event.amount)}


def _event(row: sqlite3.Row) -> PaymentEvent:
    return from_record(row)


def _record(row: sqlite3.Row) -> EventRecord:
    if row["pending_attempts"] is not None:
        return EventRecord(
            _event(row), Delivery.PENDING, row["pending_attempts"], row["pending_error"]
        )
    if row["dead_attempts"] is not None:
        return EventRecord(_event(row), Delivery.DEAD, row["dead_attempts"], row["dead_error"])
    return EventRecord(_event(row), Delivery.DELIVERED, 0, None)
