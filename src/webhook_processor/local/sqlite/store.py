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
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from webhook_processor.errors import StorageUnavailable
from webhook_processor.local.sqlite import journal, outbox
from webhook_processor.local.sqlite.pages import Pages
from webhook_processor.local.sqlite.schema import (
    EVENT_COLUMNS,
    MOVEMENT_COLUMNS,
    PLAIN_ADDITIONS,
    SELECT_EVENT,
    add_event_columns,
    open_schema,
)
from webhook_processor.local.sqlite.writer import Bulk, GroupCommitWriter, storage_errors
from webhook_processor.model import PaymentEvent, TransactionUpdate
from webhook_processor.money import format_amount
from webhook_processor.quiet import History
from webhook_processor.storage.base import EVERY_SINK, Backlog, DeadLetter, OutboxItem
from webhook_processor.storage.journal import DayCounts, Reconciled, Report, Window
from webhook_processor.storage.paging import EventFilter, Page, SinkDelivery, TransactionFilter
from webhook_processor.storage.records import (
    UPDATE_COLUMNS,
    from_record,
    iso,
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
    apply,
    movement_key,
)

#: Dead letters a redrive moves back to the outbox in one transaction.
REDRIVE_BATCH: Final = 500
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
        self._sinks: tuple[str, ...] = ()
        try:
            _create_private(self.path)
            writer = self.connect()
            missing = open_schema(writer)
            if missing:
                _add_transactions(writer, missing)
            # Until this process registers its own: the sinks of the server that registered
            # last, whose lanes deliver what this process stores while that server runs.
            self._sinks = tuple(row[0] for row in writer.execute("SELECT sink FROM outbox_sinks"))
        except (OSError, sqlite3.Error) as exc:
            raise StorageUnavailable(f"cannot open the SQLite store at {self.path}: {exc}") from exc
        self._writer = GroupCommitWriter(writer)
        self._pages = Pages(self._read)

    # -- EventStore -------------------------------------------------------------------------

    def insert_all(self, events: Sequence[PaymentEvent]) -> list[bool]:
        return self._writer.write(_Insert(events, self._sinks or (EVERY_SINK,)))

    async def insert_all_async(self, events: Sequence[PaymentEvent]) -> list[bool]:
        return await self._writer.write_async(_Insert(events, self._sinks or (EVERY_SINK,)))

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        rows = self._read(
            f"SELECT {SELECT_EVENT} FROM events e WHERE key = ?", (f"{provider}:{event_id}",)
        )
        return from_record(rows[0]) if rows else None

    def transaction(self, provider: str, transaction_id: str) -> TransactionState | None:
        rows = self._read(
            "SELECT * FROM transactions WHERE provider = ? AND transaction_id = ?",
            (provider, transaction_id),
        )
        return state_from_record(rows[0]) if rows else None

    # -- Listings (the queries are in ``pages``) ----------------------------------------------

    def event_page(self, where: EventFilter, after: str | None, limit: int) -> Page[PaymentEvent]:
        return self._pages.event_page(where, after, limit)

    def transaction_page(
        self, where: TransactionFilter, after: str | None, limit: int
    ) -> Page[TransactionState]:
        return self._pages.transaction_page(where, after, limit)

    def timeline(
        self, provider: str | None, transaction_id: str, limit: int | None = None
    ) -> list[PaymentEvent]:
        return self._pages.timeline(provider, transaction_id, limit)

    def movements(
        self, provider: str, transaction_id: str, limit: int | None = None
    ) -> list[Movement]:
        rows = self._read(
            "SELECT * FROM movements WHERE provider = ? AND transaction_id = ? "
            "ORDER BY reported_at, kind, movement_id LIMIT ?",
            (provider, transaction_id, -1 if limit is None else limit),
        )
        return [movement_from_record(row) for row in rows]

    def deliveries(self, keys: Sequence[str]) -> dict[str, list[SinkDelivery]]:
        return self._pages.deliveries(keys)

    def dead_letter_page(self, after: str | None, limit: int) -> Page[DeadLetter]:
        return self._pages.dead_letter_page(after, limit)

    def backlogs(self) -> dict[str, Backlog]:
        rows = self._read(
            "SELECT sink, SUM(pending), SUM(dead), MIN(received_at) FROM ("
            " SELECT o.sink, 1 AS pending, 0 AS dead, e.received_at"
            " FROM outbox o JOIN events e USING (key) WHERE o.sink != ?"
            " UNION ALL SELECT d.sink, 0, 1, e.received_at"
            " FROM dead_letters d JOIN events e USING (key)"
            ") GROUP BY sink",
            (EVERY_SINK,),
        )
        return {row[0]: Backlog(row[1], row[2], datetime.fromisoformat(row[3])) for row in rows}

    # -- Journal and Completeness (the SQL is in ``journal``) -------------------------------

    def reconciled_until(self, provider: str) -> datetime | None:
        rows = self._read(
            "SELECT reconciled_until FROM reconcile_marks WHERE provider = ?", (provider,)
        )
        mark = rows[0][0] if rows else None
        return datetime.fromisoformat(mark) if mark else None

    def claim_reconciliation(self, provider: str, holder: str, now: datetime) -> bool:
        return self._writer.write(journal.claim(provider, holder, now))

    def finish_reconciliation(self, report: Report, holder: str, now: datetime) -> None:
        self._writer.write(journal.finish(report, holder, now))

    def release_reconciliation(self, provider: str, holder: str) -> None:
        self._writer.write(journal.release(provider, holder))

    def arrivals_by_day(self, since: datetime) -> DayCounts:
        return _day_counts(self._read(journal.ARRIVALS_BY_DAY, (iso(since),)))

    def listings_by_day(self, since: datetime) -> DayCounts:
        return _day_counts(self._read(journal.LISTINGS_BY_DAY, (iso(since),)))

    def reconciled_windows(self, since: datetime) -> list[Reconciled]:
        rows = self._read(
            "SELECT provider, since, until, ran_at FROM reconciled_windows WHERE until > ? "
            "ORDER BY until",
            (iso(since),),
        )
        return [
            Reconciled(
                row["provider"],
                Window(datetime.fromisoformat(row["since"]), datetime.fromisoformat(row["until"])),
                datetime.fromisoformat(row["ran_at"]),
            )
            for row in rows
        ]

    # -- DeliveryCounts ---------------------------------------------------------------------

    def add_deliveries(self, counts: Mapping[tuple[str, int], int]) -> None:
        if counts:
            self._writer.write(journal.add_deliveries(counts))

    def delivery_histories(self, since: int) -> list[History]:
        began = self._read(
            "SELECT provider, bucket FROM delivery_counts_since ORDER BY provider", ()
        )
        rows = self._read(
            "SELECT provider, bucket, count FROM delivery_counts WHERE bucket >= ?", (since,)
        )
        counts: dict[str, dict[int, int]] = {row["provider"]: {} for row in began}
        for row in rows:
            counts.setdefault(row["provider"], {})[row["bucket"]] = row["count"]
        return [History(row["provider"], counts[row["provider"]], row["bucket"]) for row in began]

    # -- outbox -----------------------------------------------------------------------------

    def run_on(self, loop: asyncio.AbstractEventLoop) -> None:
        self._writer.run_on(loop)

    def register_sinks(self, names: Sequence[str]) -> None:
        self._writer.write(outbox.fan_out(names))
        self._sinks = tuple(names)

    def due(self, sink: str, now: datetime, limit: int) -> list[OutboxItem]:
        rows = self._read(
            f"SELECT {SELECT_EVENT}, o.attempts FROM outbox o JOIN events e USING (key) "
            "WHERE o.sink = ? AND o.next_attempt_at <= ? "
            "ORDER BY o.next_attempt_at, o.key LIMIT ?",
            (sink, iso(now), limit),
        )
        return [OutboxItem(from_record(row), row["attempts"]) for row in rows]

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


def _day_counts(rows: list[sqlite3.Row]) -> DayCounts:
    counts: DayCounts = {}
    for row in rows:
        counts.setdefault((row["provider"], row["day"]), {})[row["kind"]] = int(row["n"])
    return counts


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
    """The states of the transactions a group of events touches, and the refunds and captures
    those events report: read once, applied to in order, written back once."""

    def __init__(
        self,
        states: dict[tuple[str, str], TransactionState | None],
        movements: dict[tuple[str, str, str, str], Movement | None],
    ) -> None:
        self._states = states
        self._movements = movements
        self._touched: set[tuple[str, str]] = set()
        self._moved: set[tuple[str, str, str, str]] = set()

    @classmethod
    def load(cls, conn: sqlite3.Connection, events: Sequence[PaymentEvent]) -> _Transactions:
        wanted = list(dict.fromkeys((event.provider, event.transaction_id) for event in events))
        states: dict[tuple[str, str], TransactionState | None] = dict.fromkeys(wanted)
        for row in _rows_by_key(conn, "transactions", ("provider", "transaction_id"), wanted):
            states[(row["provider"], row["transaction_id"])] = state_from_record(row)
        reported = [key for key in dict.fromkeys(map(_movement_of, events)) if key is not None]
        movements: dict[tuple[str, str, str, str], Movement | None] = dict.fromkeys(reported)
        for row in _rows_by_key(conn, "movements", _MOVEMENT_KEY, reported):
            movements[_row_movement_key(row)] = movement_from_record(row)
        return cls(states, movements)

    def apply(self, event: PaymentEvent) -> TransactionUpdate:
        key = (event.provider, event.transaction_id)
        reported = _movement_of(event)
        known = None if reported is None else self._movements[reported]
        transition = apply(self._states[key], event, known)
        self._states[key] = transition.after
        self._touched.add(key)
        if reported is not None and transition.movement_changed:
            self._movements[reported] = transition.movement
            self._moved.add(reported)
        return transition.update

    def save(self, conn: sqlite3.Connection) -> None:
        rows = [_state_row(self._states[key]) for key in sorted(self._touched)]
        conn.executemany(_UPSERT_TRANSACTION, rows)
        moved = [(key, self._movements[key]) for key in sorted(self._moved)]
        conn.executemany(
            _UPSERT_MOVEMENT,
            [_movement_row(key, movement) for key, movement in moved if movement is not None],
        )


def _rows_by_key(
    conn: sqlite3.Connection, table: str, columns: tuple[str, ...], keys: Sequence[tuple[str, ...]]
) -> Iterator[sqlite3.Row]:
    """The rows of ``table`` whose ``columns`` are one of ``keys``, a few statements for any
    number (SQLite binds at most 999 parameters to one)."""
    match = "(" + " AND ".join(f"{column} = ?" for column in columns) + ")"
    per = 800 // len(columns)
    for start in range(0, len(keys), per):
        chunk = keys[start : start + per]
        params = [value for key in chunk for value in key]
        yield from conn.execute(
            f"SELECT * FROM {table} WHERE {' OR '.join([match] * len(chunk))}", params
        )


_MOVEMENT_KEY: Final = ("provider", "transaction_id", "kind", "movement_id")


def _movement_of(event: PaymentEvent) -> tuple[str, str, str, str] | None:
    key = movement_key(event)
    return None if key is None else (event.provider, event.transaction_id, *key)


def _row_movement_key(row: sqlite3.Row) -> tuple[str, str, str, str]:
    return (row["provider"], row["transaction_id"], row["kind"], row["movement_id"])


def _movement_row(key: tuple[str, str, str, str], movement: Movement) -> dict[str, Any]:
    record = movement_to_record(key[0], key[1], movement)
    return {**record, "amount": format_amount(movement.amount)}


_UPSERT_MOVEMENT: Final = (
    f"INSERT INTO movements ({', '.join(MOVEMENT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + column for column in MOVEMENT_COLUMNS)}) "
    "ON CONFLICT (provider, transaction_id, kind, movement_id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in MOVEMENT_COLUMNS[4:])
)


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
        **{name: _text(record[name]) for name in _UPDATE_AMOUNTS},
    }


_UPDATE_AMOUNTS: Final = (
    "txn_amount",
    "txn_refunded",
    "txn_authorized",
    "txn_captured",
    "txn_disputed",
    "txn_refund_reversed",
)


def _text(amount: Decimal | None) -> str | None:
    """An amount as its exact text (SQLite has no decimal)."""
    return None if amount is None else format_amount(amount)


def _add_transactions(conn: sqlite3.Connection, missing: list[str]) -> None:
    """Bring an earlier database up to date: add the event columns it lacks, then apply its
    events to their transactions again, in the order received (what it kept of them is
    rebuilt: refunds and captures become records of their own)."""
    conn.execute("BEGIN IMMEDIATE")
    add_event_columns(conn, missing)
    if PLAIN_ADDITIONS.issuperset(missing):
        conn.execute("COMMIT")
        return
    conn.execute("DELETE FROM movements")
    conn.execute("DELETE FROM transactions")
    events = [
        from_record(row)
        for row in conn.execute(f"SELECT {SELECT_EVENT} FROM events e ORDER BY received_at, key")
    ]
    states = _Transactions.load(conn, events)
    updates = [{**_update_row(states.apply(event)), "key": event.key} for event in events]
    states.save(conn)
    assignments = ", ".join(f"{column} = :{column}" for column in UPDATE_COLUMNS)
    conn.executemany(f"UPDATE events SET {assignments} WHERE key = :key", updates)
    conn.execute("COMMIT")


def _event_row(event: PaymentEvent) -> dict[str, Any]:
    """The event's record with its key, the amount as its exact text (SQLite has no decimal)."""
    record = to_record(event)
    return {
        **record,
        "key": event.key,
        "amount": format_amount(event.amount),
        "refunded_total": _text(event.refunded_total),
        "captured": _text(event.captured),
    }
