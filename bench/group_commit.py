"""Concurrent durable inserts: the SQLiteStore's group commit against one commit per insert.

Both sides use WAL and ``synchronous=FULL`` on the same disk, and every insert is committed
(fsync'd) before its caller continues, as a request's 2xx requires. The baseline is what a
request handler does without a writer thread: its own connection, ``BEGIN IMMEDIATE``, insert,
``COMMIT``, waiting on SQLite's busy handler while another thread holds the lock.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tests.builders import make_event
from webhook_processor.model import PaymentEvent
from webhook_processor.storage.sqlite import SCHEMA, SQLiteStore

THREADS = 16
PER_THREAD = 60
EVENT = make_event()


def _run(insert: Callable[[PaymentEvent], object]) -> float:
    """Inserts per second with THREADS threads inserting distinct events."""
    barrier = threading.Barrier(THREADS + 1)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(PER_THREAD):
            insert(replace(EVENT, event_id=f"evt_{n}_{i}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return THREADS * PER_THREAD / (time.perf_counter() - started)


def _commit_per_insert(path: Path) -> Callable[[PaymentEvent], object]:
    local = threading.local()
    setup = sqlite3.connect(path)
    setup.executescript(SCHEMA)
    setup.close()

    def insert(event: PaymentEvent) -> object:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            local.conn = conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO events (key, provider, event_id, transaction_id, event_type, amount, "
            "currency, status, metadata, occurred_at, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?) ON CONFLICT (key) DO NOTHING",
            (
                event.key,
                event.provider,
                event.event_id,
                event.transaction_id,
                event.event_type,
                str(event.amount),
                event.currency,
                event.status,
                "t",
                "t",
            ),
        )
        conn.execute("INSERT INTO outbox (key, next_attempt_at) VALUES (?, 't')", (event.key,))
        conn.execute("COMMIT")
        return True

    return insert


def main() -> None:
    print(f"durable inserts, {THREADS} threads x {PER_THREAD} (ratio to commit-per-insert)")
    with tempfile.TemporaryDirectory(dir=".") as directory:
        baseline = _run(_commit_per_insert(Path(directory) / "baseline.db"))
        store = SQLiteStore(Path(directory) / "group.db")
        try:
            grouped = _run(store.insert_if_absent)
        finally:
            store.close()
    print(f"  {'one commit per insert (baseline)':<50} {baseline:8.0f} /s  x1.0")
    print(f"  {'SQLiteStore group commit':<50} {grouped:8.0f} /s  x{grouped / baseline:.1f}")


if __name__ == "__main__":
    main()
