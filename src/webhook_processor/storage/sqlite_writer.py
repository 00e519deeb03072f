"""Group commit: one writer thread that commits whatever is queued in one SQLite transaction.

Concurrent callers share one fsync instead of queueing for the database lock one commit at a
time. Each caller's work runs in its own savepoint, so one failing write cannot undo another,
and no caller hears back before the transaction holding its work has committed. A thread can
wait for its result (:meth:`GroupCommitWriter.write`), an event loop can await it
(:meth:`GroupCommitWriter.write_async`) without holding a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, Final, TypeVar

from webhook_processor.errors import StorageUnavailable

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]

#: Most pieces of work in one transaction: bounds how long any caller waits behind the others.
BATCH_LIMIT: Final = 512
#: A write not confirmed in this time is reported unavailable (the provider retries it).
WRITE_TIMEOUT_SECONDS: Final = 30.0


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Map SQLite's errors (and an unconfirmed write) to :class:`StorageUnavailable`."""
    try:
        yield
    except TimeoutError as exc:
        raise StorageUnavailable(f"SQLite {what} not confirmed in time") from exc
    except sqlite3.Error as exc:
        raise StorageUnavailable(f"SQLite {what} failed: {exc}") from exc


class GroupCommitWriter:
    """Owns the one writing connection and the thread that uses it."""

    def __init__(self, conn: sqlite3.Connection, name: str = "sqlite-writer") -> None:
        self._queue: queue.SimpleQueue[tuple[Work[Any], Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, args=(conn,), name=name, daemon=True)
        self._thread.start()

    def submit(self, work: Work[T]) -> Future[T]:
        """Queue ``work``; the future resolves once the transaction holding it has committed."""
        if not self._thread.is_alive():
            raise StorageUnavailable("the SQLite store is closed")
        future: Future[T] = Future()
        self._queue.put((work, future))
        return future

    def write(self, work: Work[T]) -> T:
        """Run ``work`` in the next group and wait for its commit."""
        future = self.submit(work)
        with storage_errors("write"):
            return future.result(timeout=WRITE_TIMEOUT_SECONDS)

    async def write_async(self, work: Work[T]) -> T:
        """Run ``work`` in the next group and await its commit."""
        future = self.submit(work)
        with storage_errors("write"):
            return await asyncio.wait_for(asyncio.wrap_future(future), WRITE_TIMEOUT_SECONDS)

    def close(self) -> None:
        """Finish what is queued, then stop the thread and close its connection."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _loop(self, conn: sqlite3.Connection) -> None:
        stopping = False
        while not stopping:
            batch: list[tuple[Work[Any], Future[Any]]] = []
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= BATCH_LIMIT:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = item is None
            if batch:
                commit(conn, batch)
        conn.close()


def commit(conn: sqlite3.Connection, batch: list[tuple[Work[Any], Future[Any]]]) -> None:
    """Run every piece of ``batch`` in one transaction, each in its own savepoint."""
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
