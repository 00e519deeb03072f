"""The SQLite store: the local processor's durable event store and outbox.

Durability: WAL journal with ``synchronous=FULL``, so a committed transaction has been fsync'd
and a 2xx is never sent for an event a power cut could lose.

Throughput: every write goes through one :class:`~webhook_processor.storage.sqlite_writer.
GroupCommitWriter`, which commits whatever is queued in a single transaction and only then
answers each caller. Reads use one connection per thread; WAL lets them run beside the writer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from webhook_processor import codec
from webhook_processor.errors import StorageUnavailable
from webhook_processor.model import PaymentEvent
from webhook_processor.money import format_amount
from webhook_processor.storage.base import (
    DeadLetter,
    Delivery,
    EventRecord,
    OutboxItem,
    TransactionSummary,
)
from webhook_processor.storage.records import from_record, iso, to_record
from webhook_processor.storage.sqlite_writer import GroupCommitWriter, storage_errors

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
    delivered_at    TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_transaction
    ON events (transaction_id, occurred_at, received_at);
CREATE INDEX IF NOT EXISTS events_by_received ON events (received_at);
CREATE TABLE IF NOT EXISTS outbox (
    key             TEXT PRIMARY KEY REFERENCES events (key),
    attempts        INTEGER NOT NULL DEFAULT 0,
    delivered_to    TEXT NOT NULL DEFAULT '[]',
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    key             TEXT PRIMARY KEY REFERENCES events (key),
    attempts        INTEGER NOT NULL,
    delivered_to    TEXT NOT NULL,
    last_error      TEXT NOT NULL,
    failed_at       TEXT NOT NULL
) WITHOUT ROWID;
"""

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
)
_SELECT_EVENT: Final = ", ".join(f"e.{column}" for column in EVENT_COLUMNS)
_INSERT_EVENT: Final = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + column for column in EVENT_COLUMNS)}) ON CONFLICT (key) DO NOTHING"
)


class SQLiteStore:
    """A LocalStore in one SQLite file."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._readers = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = self.connect()
            writer.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageUnavailable(f"cannot open the SQLite store at {self.path}: {exc}") from exc
        self._writer = GroupCommitWriter(writer)

    # -- EventStore -------------------------------------------------------------------------

    def insert_all(self, events: Sequence[PaymentEvent]) -> list[bool]:
        return self._writer.write(_insert_work(events))

    async def insert_all_async(self, events: Sequence[PaymentEvent]) -> list[bool]:
        return await self._writer.write_async(_insert_work(events))

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        rows = self._read(
            f"SELECT {_SELECT_EVENT} FROM events e WHERE key = ?", (f"{provider}:{event_id}",)
        )
        return _event(rows[0]) if rows else None

    def events_for_transaction(self, transaction_id: str) -> list[PaymentEvent]:
        rows = self._read(
            f"SELECT {_SELECT_EVENT} FROM events e WHERE transaction_id = ? "
            "ORDER BY occurred_at, received_at, key",
            (transaction_id,),
        )
        return [_event(row) for row in rows]

    # -- outbox -----------------------------------------------------------------------------

    def due(self, now: datetime, limit: int) -> list[OutboxItem]:
        rows = self._read(
            f"SELECT {_SELECT_EVENT}, o.attempts, o.delivered_to "
            "FROM outbox o JOIN events e USING (key) "
            "WHERE o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.key LIMIT ?",
            (iso(now), limit),
        )
        return [
            OutboxItem(_event(row), row["attempts"], _sinks(row["delivered_to"])) for row in rows
        ]

    def complete_deliveries(self, keys: Sequence[str], at: datetime) -> None:
        def complete(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM outbox WHERE key = ?", [(key,) for key in keys])
            conn.executemany(
                "UPDATE events SET delivered_at = ? WHERE key = ?", [(iso(at), k) for k in keys]
            )

        self._writer.write(complete)

    def fail_delivery(
        self,
        key: str,
        delivered_to: frozenset[str],
        error: str,
        *,
        at: datetime,
        retry_at: datetime | None,
    ) -> None:
        sinks = codec.dumps(sorted(delivered_to))

        def fail(conn: sqlite3.Connection) -> None:
            if retry_at is not None:
                conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, delivered_to = ?, "
                    "next_attempt_at = ?, last_error = ? WHERE key = ?",
                    (sinks, iso(retry_at), error, key),
                )
                return
            conn.execute(
                "INSERT INTO dead_letters (key, attempts, delivered_to, last_error, failed_at) "
                "SELECT key, attempts + 1, ?, ?, ? FROM outbox WHERE key = ?",
                (sinks, error, iso(at), key),
            )
            conn.execute("DELETE FROM outbox WHERE key = ?", (key,))

        self._writer.write(fail)

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._read(
            f"SELECT {_SELECT_EVENT}, d.attempts, d.delivered_to, d.last_error, d.failed_at "
            "FROM dead_letters d JOIN events e USING (key) ORDER BY d.failed_at, d.key",
            (),
        )
        return [
            DeadLetter(
                row["key"],
                _event(row),
                row["attempts"],
                _sinks(row["delivered_to"]),
                row["last_error"],
                _datetime(row["failed_at"]),
            )
            for row in rows
        ]

    def redrive(self, keys: Sequence[str] | None, now: datetime) -> list[str]:
        def requeue(conn: sqlite3.Connection) -> list[str]:
            if keys is None:
                chosen = [r[0] for r in conn.execute("SELECT key FROM dead_letters ORDER BY key")]
            else:
                chosen = [
                    k
                    for k in keys
                    if conn.execute("SELECT 1 FROM dead_letters WHERE key = ?", (k,)).fetchone()
                ]
            for key in chosen:
                conn.execute(
                    "INSERT INTO outbox (key, delivered_to, next_attempt_at) "
                    "SELECT key, delivered_to, ? FROM dead_letters WHERE key = ?",
                    (iso(now), key),
                )
                conn.execute("DELETE FROM dead_letters WHERE key = ?", (key,))
            return chosen

        return self._writer.write(requeue)

    # -- inspection -------------------------------------------------------------------------

    def recent_events(self, limit: int) -> list[EventRecord]:
        rows = self._read(
            f"SELECT {_SELECT_EVENT}, o.attempts AS pending_attempts, "
            "o.last_error AS pending_error, d.attempts AS dead_attempts, "
            "d.last_error AS dead_error "
            "FROM events e LEFT JOIN outbox o USING (key) LEFT JOIN dead_letters d USING (key) "
            "ORDER BY e.received_at DESC, e.key DESC LIMIT ?",
            (limit,),
        )
        return [_record(row) for row in rows]

    def transactions(self, limit: int) -> list[TransactionSummary]:
        rows = self._read(
            "SELECT transaction_id, provider, status, amount, currency, n AS event_count, "
            "event_id AS last_event_id, occurred_at AS updated_at "
            "FROM (SELECT *, COUNT(*) OVER (PARTITION BY transaction_id) AS n, ROW_NUMBER() OVER "
            "(PARTITION BY transaction_id ORDER BY occurred_at DESC, received_at DESC, key DESC) "
            "AS rank FROM events) WHERE rank = 1 "
            "ORDER BY occurred_at DESC, transaction_id DESC LIMIT ?",
            (limit,),
        )
        return [
            TransactionSummary(
                **{
                    **dict(row),
                    "amount": Decimal(row["amount"]),
                    "updated_at": _datetime(row["updated_at"]),
                }
            )
            for row in rows
        ]

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


def _insert_work(events: Sequence[PaymentEvent]) -> Callable[[sqlite3.Connection], list[bool]]:
    """The writer's work for one batch: each new event's row and its outbox row."""
    rows = [_event_row(event) for event in events]

    def insert(conn: sqlite3.Connection) -> list[bool]:
        inserted = []
        for row in rows:
            is_new = conn.execute(_INSERT_EVENT, row).rowcount == 1
            if is_new:
                conn.execute(
                    "INSERT INTO outbox (key, next_attempt_at) VALUES (?, ?)",
                    (row["key"], row["received_at"]),
                )
            inserted.append(is_new)
        return inserted

    return insert


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _sinks(text: str) -> frozenset[str]:
    return frozenset(codec.loads_stored(text))


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
