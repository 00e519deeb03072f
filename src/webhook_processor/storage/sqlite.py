"""The SQLite store: the local processor's durable event store and outbox.

Durability: WAL journal with ``synchronous=FULL``, so a committed transaction has been fsync'd
and a 2xx is never sent for an event a power cut could lose.

Throughput: every write goes through ONE writer thread that commits whatever is queued in a
single transaction (group commit) and only then answers each caller. Concurrent requests share
one fsync instead of queueing for the database lock one commit at a time; each caller's work
runs in its own savepoint, so one failing write cannot undo another. Reads use one connection
per thread; WAL lets them run beside the writer.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

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

T = TypeVar("T")
_Work = Callable[[sqlite3.Connection], Any]

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

_EVENT_COLUMNS: Final = (
    "key, provider, event_id, transaction_id, event_type, amount, currency, status, "
    "customer_id, payment_method, metadata, occurred_at, received_at"
)
_E = ", ".join(f"e.{c.strip()}" for c in _EVENT_COLUMNS.split(","))
_BATCH_LIMIT: Final = 512
_WRITE_TIMEOUT_SECONDS: Final = 30.0


class SQLiteStore:
    """A LocalStore in one SQLite file."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._readers = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[_Work, Future[Any]] | None] = queue.SimpleQueue()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._connect()
            writer.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageUnavailable(f"cannot open the SQLite store at {self.path}: {exc}") from exc
        self._writer = threading.Thread(
            target=self._write_loop, args=(writer,), name="sqlite-writer", daemon=True
        )
        self._writer.start()

    # -- EventStore -------------------------------------------------------------------------

    def insert_if_absent(self, event: PaymentEvent) -> bool:
        return self._write(_insert_work(event))

    async def insert_if_absent_async(self, event: PaymentEvent) -> bool:
        """``insert_if_absent`` for an event loop: awaits the group commit, no thread needed."""
        future = self._submit(_insert_work(event))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), _WRITE_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise StorageUnavailable("SQLite write not confirmed in time") from exc
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"SQLite write failed: {exc}") from exc

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        rows = self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE key = ?", (f"{provider}:{event_id}",)
        )
        return _event(rows[0]) if rows else None

    def events_for_transaction(self, transaction_id: str) -> list[PaymentEvent]:
        rows = self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE transaction_id = ? "
            "ORDER BY occurred_at, received_at, key",
            (transaction_id,),
        )
        return [_event(row) for row in rows]

    # -- outbox -----------------------------------------------------------------------------

    def due(self, now: datetime, limit: int) -> list[OutboxItem]:
        rows = self._read(
            f"SELECT {_E}, o.attempts, o.delivered_to FROM outbox o JOIN events e USING (key) "
            "WHERE o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.key LIMIT ?",
            (_iso(now), limit),
        )
        return [OutboxItem(_event(row), row[13], frozenset(codec.loads(row[14]))) for row in rows]

    def complete_deliveries(self, keys: Sequence[str], at: datetime) -> None:
        def complete(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM outbox WHERE key = ?", [(key,) for key in keys])
            conn.executemany(
                "UPDATE events SET delivered_at = ? WHERE key = ?", [(_iso(at), k) for k in keys]
            )

        self._write(complete)

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
                    (sinks, _iso(retry_at), error, key),
                )
                return
            conn.execute(
                "INSERT INTO dead_letters (key, attempts, delivered_to, last_error, failed_at) "
                "SELECT key, attempts + 1, ?, ?, ? FROM outbox WHERE key = ?",
                (sinks, error, _iso(at), key),
            )
            conn.execute("DELETE FROM outbox WHERE key = ?", (key,))

        self._write(fail)

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._read(
            f"SELECT {_E}, d.attempts, d.delivered_to, d.last_error, d.failed_at "
            "FROM dead_letters d JOIN events e USING (key) ORDER BY d.failed_at, d.key",
            (),
        )
        return [
            DeadLetter(
                row[0],
                _event(row),
                row[13],
                frozenset(codec.loads(row[14])),
                row[15],
                _datetime(row[16]),
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
                    (_iso(now), key),
                )
                conn.execute("DELETE FROM dead_letters WHERE key = ?", (key,))
            return chosen

        return self._write(requeue)

    # -- inspection -------------------------------------------------------------------------

    def recent_events(self, limit: int) -> list[EventRecord]:
        rows = self._read(
            f"SELECT {_E}, o.attempts, o.last_error, d.attempts, d.last_error "
            "FROM events e LEFT JOIN outbox o USING (key) LEFT JOIN dead_letters d USING (key) "
            "ORDER BY e.received_at DESC, e.key DESC LIMIT ?",
            (limit,),
        )
        records = []
        for row in rows:
            if row[13] is not None:
                records.append(EventRecord(_event(row), Delivery.PENDING, row[13], row[14]))
            elif row[15] is not None:
                records.append(EventRecord(_event(row), Delivery.DEAD, row[15], row[16]))
            else:
                records.append(EventRecord(_event(row), Delivery.DELIVERED, 0, None))
        return records

    def transactions(self, limit: int) -> list[TransactionSummary]:
        rows = self._read(
            "SELECT transaction_id, provider, status, amount, currency, n, event_id, occurred_at "
            "FROM (SELECT *, COUNT(*) OVER (PARTITION BY transaction_id) AS n, ROW_NUMBER() OVER "
            "(PARTITION BY transaction_id ORDER BY occurred_at DESC, received_at DESC, key DESC) "
            "AS rank FROM events) WHERE rank = 1 "
            "ORDER BY occurred_at DESC, transaction_id DESC LIMIT ?",
            (limit,),
        )
        return [
            TransactionSummary(r[0], r[1], r[2], Decimal(r[3]), r[4], r[5], r[6], _datetime(r[7]))
            for r in rows
        ]

    def close(self) -> None:
        """Finish queued writes, stop the writer, close every connection."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()
        with self._lock:
            for conn in self._reader_connections:
                conn.close()
            self._reader_connections.clear()

    # -- machinery --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        try:
            conn = getattr(self._readers, "conn", None)
            if conn is None:
                conn = self._connect()
                self._readers.conn = conn
                with self._lock:
                    self._reader_connections.append(conn)
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"SQLite read failed: {exc}") from exc

    def _submit(self, work: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue ``work`` for the writer; the future resolves once its group has committed."""
        if not self._writer.is_alive():
            raise StorageUnavailable("the SQLite store is closed")
        future: Future[T] = Future()
        self._queue.put((work, future))
        return future

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        future = self._submit(work)
        try:
            return future.result(timeout=_WRITE_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise StorageUnavailable("SQLite write not confirmed in time") from exc
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"SQLite write failed: {exc}") from exc

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        stopping = False
        while not stopping:
            batch: list[tuple[_Work, Future[Any]]] = []
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= _BATCH_LIMIT:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = item is None
            if batch:
                self._commit(conn, batch)
        conn.close()

    @staticmethod
    def _commit(conn: sqlite3.Connection, batch: list[tuple[_Work, Future[Any]]]) -> None:
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for work, future in batch:
                conn.execute("SAVEPOINT work")
                try:
                    results.append((future, work(conn), None))
                except Exception as exc:  # the caller gets its own error; the others commit
                    conn.execute("ROLLBACK TO work")
                    results.append((future, None, exc))
                conn.execute("RELEASE work")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for _, future in batch:
                future.set_exception(exc)
            return
        # Only now, with the transaction committed and fsync'd, does any caller hear back.
        for future, result, error in results:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)


def _insert_work(event: PaymentEvent) -> Callable[[sqlite3.Connection], bool]:
    """The writer's work for one insert: the event row and, if it is new, its outbox row."""
    row = _event_row(event)

    def insert(conn: sqlite3.Connection) -> bool:
        cursor = conn.execute(
            f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' * len(row))}) "
            "ON CONFLICT (key) DO NOTHING",
            row,
        )
        if cursor.rowcount == 0:
            return False
        conn.execute(
            "INSERT INTO outbox (key, next_attempt_at) VALUES (?, ?)", (event.key, row[-1])
        )
        return True

    return insert


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _event_row(event: PaymentEvent) -> tuple[Any, ...]:
    return (
        event.key,
        event.provider,
        event.event_id,
        event.transaction_id,
        event.event_type,
        format_amount(event.amount),
        event.currency,
        event.status,
        event.customer_id,
        event.payment_method,
        codec.dumps(dict(event.metadata)),
        _iso(event.occurred_at),
        _iso(event.received_at),
    )


def _event(row: Sequence[Any]) -> PaymentEvent:
    return PaymentEvent(
        provider=row[1],
        event_id=row[2],
        transaction_id=row[3],
        event_type=row[4],
        amount=Decimal(row[5]),
        currency=row[6],
        status=row[7],
        customer_id=row[8],
        payment_method=row[9],
        metadata=codec.loads(row[10]),
        occurred_at=_datetime(row[11]),
        received_at=_datetime(row[12]),
    )
