"""The SQLite outbox's writes, as work for the group-commit writer.

Each function returns the work for one caller; the writer runs it in the next transaction. The
outbox has one entry per stored event and sink; ``''`` stands for every sink while none is
registered (see :meth:`~webhook_processor.local.sqlite.store.SQLiteStore.register_sinks`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from webhook_processor.storage.base import EVERY_SINK
from webhook_processor.storage.records import iso

Work = Callable[[sqlite3.Connection], None]


def fan_out(sinks: Sequence[str]) -> Work:
    """Entries queued for every sink become one entry per registered sink, and the sinks are
    recorded for the other processes that store events in this database."""

    def work(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM outbox_sinks")
        conn.executemany("INSERT INTO outbox_sinks (sink) VALUES (?)", [(s,) for s in sinks])
        for sink in sinks:
            conn.execute(
                "INSERT OR IGNORE INTO outbox (key, sink, attempts, next_attempt_at, last_error) "
                "SELECT key, ?, attempts, next_attempt_at, last_error FROM outbox WHERE sink = ?",
                (sink, EVERY_SINK),
            )
        if sinks:
            conn.execute("DELETE FROM outbox WHERE sink = ?", (EVERY_SINK,))

    return work


def complete(sink: str, keys: Sequence[str], at: datetime) -> Work:
    def work(conn: sqlite3.Connection) -> None:
        # Only the outbox entry goes: rewriting the event's row to stamp it would double what
        # each event costs to write (its row is most of the bytes).
        conn.executemany(
            "DELETE FROM outbox WHERE key = ? AND sink = ?", [(key, sink) for key in keys]
        )

    return work


def fail(
    sink: str,
    key: str,
    error: str,
    *,
    at: datetime,
    retry_at: datetime | None,
    transient: bool,
) -> Work:
    def work(conn: sqlite3.Connection) -> None:
        if retry_at is not None:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                "WHERE key = ? AND sink = ?",
                (iso(retry_at), error, key, sink),
            )
            return
        conn.execute(
            "INSERT OR REPLACE INTO dead_letters "
            "(key, sink, attempts, last_error, failed_at, transient) "
            "SELECT key, sink, attempts + 1, ?, ?, ? FROM outbox WHERE key = ? AND sink = ?",
            (error, iso(at), int(transient), key, sink),
        )
        conn.execute("DELETE FROM outbox WHERE key = ? AND sink = ?", (key, sink))

    return work


def redrive(
    keys: Sequence[str] | None,
    now: datetime,
    sinks: Sequence[str],
    *,
    after: str = "",
    limit: int = -1,
) -> Callable[[sqlite3.Connection], list[str]]:
    """Dead letters of ``keys`` (if None: every one, or the first ``limit`` in key order after
    ``after``) back into the outbox, for the sinks that gave up on them; a letter of every sink
    goes to each registered sink."""

    def work(conn: sqlite3.Connection) -> list[str]:
        if keys is None:
            chosen = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT key FROM dead_letters WHERE key > ? ORDER BY key LIMIT ?",
                    (after, limit),
                )
            ]
        else:
            chosen = [
                k
                for k in keys
                if conn.execute("SELECT 1 FROM dead_letters WHERE key = ?", (k,)).fetchone()
            ]
        for key in chosen:
            letters = [
                r[0] for r in conn.execute("SELECT sink FROM dead_letters WHERE key = ?", (key,))
            ]
            for letter in letters:
                targets = sinks if letter == EVERY_SINK and sinks else (letter,)
                conn.executemany(
                    "INSERT OR REPLACE INTO outbox (key, sink, next_attempt_at) VALUES (?, ?, ?)",
                    [(key, target, iso(now)) for target in targets],
                )
            conn.execute("DELETE FROM dead_letters WHERE key = ?", (key,))
        return chosen

    return work


def redrive_transient(
    sink: str, now: datetime, limit: int | None
) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        keys = [
            (row[0],)
            for row in conn.execute(
                "SELECT key FROM dead_letters WHERE sink = ? AND transient = 1 "
                "ORDER BY failed_at, key LIMIT ?",
                (sink, -1 if limit is None else limit),
            )
        ]
        conn.executemany(
            "INSERT OR REPLACE INTO outbox (key, sink, next_attempt_at) VALUES (?, ?, ?)",
            [(key, sink, iso(now)) for (key,) in keys],
        )
        conn.executemany(
            "DELETE FROM dead_letters WHERE key = ? AND sink = ?", [(k, sink) for (k,) in keys]
        )
        return len(keys)

    return work
