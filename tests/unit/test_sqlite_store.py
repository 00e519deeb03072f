"""What only the SQLite store has: its durability settings and the group commit's isolation.

Everything every store must do is in ``test_store_contract.py``.
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import NOW, make_event
from tests.support.loopback import run_coroutine
from tests.support.stores import dead_letters, recent_events
from webhook_processor.errors import StorageUnavailable
from webhook_processor.local.sqlite import store as sqlite
from webhook_processor.local.sqlite import writer as sqlite_writer
from webhook_processor.local.sqlite.pages import page_queries
from webhook_processor.local.sqlite.schema import EVENT_ADDITIONS
from webhook_processor.local.sqlite.store import SQLiteStore


def test_store_uses_wal_and_full_sync_and_survives_a_reopen(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    try:
        store.insert_all([make_event()])
        conn = store.connect()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        conn.close()
    finally:
        store.close()
    reopened = SQLiteStore(tmp_path / "s.db")
    assert reopened.get_event("stripe", "evt_1") == make_event()
    reopened.close()


def test_a_failing_write_does_not_undo_the_others_in_its_group(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    conn = store.connect()
    conn.execute("CREATE TABLE probe (x)")
    try:
        bad: Future[object] = Future()
        good: Future[object] = Future()
        batch = [
            # An outbox row for an event that does not exist violates the foreign key.
            (
                lambda c: c.execute(
                    "INSERT INTO outbox (key, next_attempt_at) VALUES ('s:x', 'x')"
                ),
                bad,
            ),
            (lambda c: c.execute("INSERT INTO probe VALUES (1)").rowcount, good),
        ]
        sqlite_writer.commit(conn, batch)
        assert isinstance(bad.exception(), sqlite3.IntegrityError)
        assert good.result() == 1
        assert conn.execute("SELECT count(*) FROM probe").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    finally:
        conn.close()
        store.close()


def test_a_closed_store_refuses_writes_as_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(StorageUnavailable, match="the SQLite store is closed"):
        store.insert_all([make_event()])


def test_an_unopenable_path_is_unavailable_and_names_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StorageUnavailable, match=r"cannot open the SQLite store at .*file/s\.db"):
        SQLiteStore(tmp_path / "file" / "s.db")


def test_a_row_stored_before_numbers_were_bounded_reads_back_and_publishes(
    tmp_path: Path,
) -> None:
    """Such a row (metadata ``1e4300`` kept as a 4,301-digit integer) once stopped the outbox."""
    from webhook_processor.publishing.envelope import encode

    store = SQLiteStore(tmp_path / "s.db")
    try:
        store.insert_all([make_event()])
        poison = '{"x":1' + "0" * 4300 + "}"
        conn = store.connect()
        conn.execute("UPDATE events SET metadata = ?", (poison,))
        conn.close()
        [item] = store.due("", make_event().received_at, 10)  # no sink registered yet
        [record] = recent_events(store, 10)
        assert record.event == item.event
        line = encode(item.event)
        published = json.loads(line, parse_float=Decimal)  # a Python consumer can read it
        assert published["data"]["metadata"]["x"] == Decimal("1e4300")
        assert len(line) < len(poison) + 1000
    finally:
        store.close()


def test_a_database_of_the_first_schema_is_carried_over_to_one_entry_per_sink(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.insert_all([make_event("evt_1"), make_event("evt_2")])
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        DROP TABLE outbox; DROP TABLE dead_letters;
        CREATE TABLE outbox (key TEXT PRIMARY KEY, attempts INTEGER NOT NULL DEFAULT 0,
            delivered_to TEXT NOT NULL DEFAULT '[]', next_attempt_at TEXT NOT NULL,
            last_error TEXT) WITHOUT ROWID;
        CREATE INDEX outbox_due ON outbox (next_attempt_at);
        CREATE TABLE dead_letters (key TEXT PRIMARY KEY, attempts INTEGER NOT NULL,
            delivered_to TEXT NOT NULL, last_error TEXT NOT NULL, failed_at TEXT NOT NULL)
            WITHOUT ROWID;
        INSERT INTO outbox (key, next_attempt_at) VALUES ('stripe:evt_1', '2000-01-01');
        INSERT INTO dead_letters VALUES ('stripe:evt_2', 5, '[]', 'boom', '2000-01-01');
        """
    )
    conn.close()
    migrated = SQLiteStore(path)
    try:
        migrated.register_sinks(["file", "http"])
        assert [i.event.key for i in migrated.due("http", make_event().received_at, 10)] == [
            "stripe:evt_1"
        ]
        [letter] = dead_letters(migrated)
        assert (letter.key, letter.last_error, letter.transient) == ("stripe:evt_2", "boom", False)
        assert migrated.redrive(None, make_event().received_at) == ["stripe:evt_2"]
        assert len(migrated.due("file", make_event().received_at, 10)) == 2
    finally:
        migrated.close()


def test_on_a_loop_writes_from_the_loop_and_from_other_threads_are_committed(
    tmp_path: Path,
) -> None:
    import asyncio
    import threading

    store = SQLiteStore(tmp_path / "s.db")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(_run_on(store), loop).result(10)
        inserted = asyncio.run_coroutine_threadsafe(
            store.insert_all_async([make_event("evt_1"), make_event("evt_1")]), loop
        ).result(10)
        assert inserted == [True, False]  # the second copy in one group is a duplicate
        assert store.insert_all([make_event("evt_2")]) == [True]  # handed to the loop
        store.close()  # from this thread: the loop closes its connection
        with pytest.raises(StorageUnavailable, match="closed"):
            store.insert_all([make_event("evt_3")])
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    reopened = SQLiteStore(tmp_path / "s.db")
    assert {r.event.event_id for r in recent_events(reopened, 10)} == {"evt_1", "evt_2"}
    reopened.close()


async def _run_on(store: SQLiteStore) -> None:
    import asyncio

    store.run_on(asyncio.get_running_loop())


def test_when_the_group_cannot_commit_every_caller_in_it_hears_so(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    conn = store.connect()
    try:
        first: Future[object] = Future()
        second: Future[object] = Future()
        # Ending the transaction inside a piece of work makes the group's own RELEASE fail.
        sqlite_writer.commit(conn, [(lambda c: c.execute("COMMIT"), first), (lambda c: 1, second)])
        assert isinstance(first.exception(), sqlite3.OperationalError)
        assert isinstance(second.exception(), sqlite3.OperationalError)
        assert not conn.in_transaction
    finally:
        conn.close()
        store.close()


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (sqlite3.OperationalError("disk I/O error"), "SQLite write failed: disk I/O error"),
        (TimeoutError(), "SQLite write not confirmed in time"),
    ],
)
def test_sqlite_errors_become_storage_unavailable(raised: Exception, message: str) -> None:
    with pytest.raises(StorageUnavailable, match=message), sqlite_writer.storage_errors("write"):
        raise raised


def test_on_its_own_loop_thread_a_waiting_write_commits_at_once(tmp_path: Path) -> None:
    """The loop's thread cannot wait for itself to commit: a write made there commits now."""
    import asyncio

    store = SQLiteStore(tmp_path / "s.db")

    async def on_the_loop() -> list[bool]:
        store.run_on(asyncio.get_running_loop())
        return store.insert_all([make_event()])

    try:
        assert run_coroutine(on_the_loop()) == [True]
    finally:
        store.close()
    reopened = SQLiteStore(tmp_path / "s.db")
    assert reopened.get_event("stripe", "evt_1") == make_event()
    reopened.close()


def test_once_its_loop_is_closed_the_store_refuses_writes_and_still_closes(
    tmp_path: Path,
) -> None:
    import asyncio

    store = SQLiteStore(tmp_path / "s.db")
    loop = asyncio.new_event_loop()
    store.run_on(loop)
    loop.close()
    with pytest.raises(StorageUnavailable, match="event loop is closed"):
        store.insert_all([make_event()])
    store.close()
    with pytest.raises(StorageUnavailable, match="the SQLite store is closed"):
        store.insert_all([make_event()])


class _Probe(sqlite_writer.Bulk):
    """Inserts one row; refuses to run in bulk when asked to with more than one."""

    def __init__(self, value: int) -> None:
        self.value = value

    @staticmethod
    def run_many(conn: sqlite3.Connection, works: list[Any]) -> list[Any]:
        if len(works) > 1:
            raise sqlite3.IntegrityError("not in bulk")
        conn.execute("INSERT INTO probe VALUES (?)", (works[0].value,))
        return [works[0].value]


def test_a_bulk_group_that_fails_runs_each_piece_alone(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    conn = store.connect()
    conn.execute("CREATE TABLE probe (x)")
    try:
        futures: list[Future[object]] = [Future(), Future()]
        sqlite_writer.commit(conn, [(_Probe(1), futures[0]), (_Probe(2), futures[1])])
        assert [future.result() for future in futures] == [1, 2]
        assert [row[0] for row in conn.execute("SELECT x FROM probe ORDER BY x")] == [1, 2]
    finally:
        conn.close()
        store.close()


def test_a_database_written_before_transactions_were_kept_gets_them_on_open(
    tmp_path: Path,
) -> None:
    """The events already stored are applied to their transactions, in the order received."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.insert_all(
        [
            make_event("evt_1", status="refunded", amount=Decimal("4.00")),
            make_event("evt_2", received_at=make_event().received_at.replace(minute=1)),
        ]
    )
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE transactions; "
        + "".join(f"ALTER TABLE events DROP COLUMN {name}; " for name in EVENT_ADDITIONS)
    )
    conn.close()
    migrated = SQLiteStore(path)
    try:
        state = migrated.transaction("stripe", "pi_1")
        assert state is not None
        assert (state.status, state.refunded, state.version) == (
            "partially_refunded",
            Decimal("4.00"),
            2,
        )
        timeline = {e.event_id: e.transaction for e in migrated.timeline(None, "pi_1")}
        assert timeline["evt_2"] is not None
        assert (timeline["evt_2"].previous_status, timeline["evt_2"].version) == (
            "partially_refunded",
            2,
        )
    finally:
        migrated.close()


def test_the_listings_read_through_indexes_never_a_scan(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    conn = store.connect()
    try:
        for query, params in page_queries().values():
            plan = " / ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", params))
            # An index walked in the ORDER BY's order stops at the LIMIT; a bare SCAN would not.
            bare_scans = [
                step
                for step in plan.split(" / ")
                if step.startswith("SCAN") and "USING" not in step
            ]
            assert bare_scans == [], (query, plan)
    finally:
        conn.close()
        store.close()


def test_a_redrive_of_many_letters_commits_batch_by_batch_each_letter_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "REDRIVE_BATCH", 2)
    store = SQLiteStore(tmp_path / "s.db")
    store.register_sinks(["file"])
    keys = [f"stripe:evt_{n}" for n in range(5)]
    store.insert_all([make_event(f"evt_{n}") for n in range(5)])
    for key in keys:
        store.fail_delivery("file", key, "boom", at=NOW, retry_at=None, transient=False)
    writes = []
    write = store._writer.write
    monkeypatch.setattr(store._writer, "write", lambda work: writes.append(work) or write(work))
    try:
        assert store.redrive(None, NOW) == keys
        assert len(writes) == 3  # 2 + 2 + 1, each its own transaction
        assert dead_letters(store) == []
        assert sorted(item.event.key for item in store.due("file", NOW, 10)) == keys
        for key in keys:
            store.fail_delivery("file", key, "boom", at=NOW, retry_at=None, transient=False)
        writes.clear()
        assert store.redrive([*keys, "stripe:evt_unknown"], NOW) == keys
        assert len(writes) == 3
    finally:
        store.close()


class _HeldCommit(sqlite3.Connection):
    """A connection whose COMMIT waits until the test lets it go."""

    started: Any
    release: Any
    fail: bool = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            self.started.set()
            self.release.wait(10)
            if self.fail:
                raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, *args)


def _held(tmp_path: Path) -> _HeldCommit:
    import threading

    SQLiteStore(tmp_path / "s.db").close()  # the schema
    conn = sqlite3.connect(
        tmp_path / "s.db", isolation_level=None, check_same_thread=False, factory=_HeldCommit
    )
    conn.started, conn.release = threading.Event(), threading.Event()
    return conn


def _insert(value: str) -> Any:
    def work(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO probe VALUES (?)", (value,))
        return value

    return work


def test_on_a_loop_the_commit_runs_off_the_loop_and_callers_hear_back_after_it(
    tmp_path: Path,
) -> None:
    """While a group's COMMIT (its fsync) runs, the loop takes the next writes; none of them,
    nor the group's own callers, hears back before the COMMIT holding its work returns."""
    import asyncio

    conn = _held(tmp_path)
    conn.execute("CREATE TABLE probe (x)")
    writer = sqlite_writer.GroupCommitWriter(conn)

    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        writer.run_on(loop)
        first = asyncio.ensure_future(writer.write_async(_insert("a")))
        await loop.run_in_executor(None, conn.started.wait, 10)
        second = asyncio.ensure_future(writer.write_async(_insert("b")))
        for _ in range(5):
            await asyncio.sleep(0)  # the loop runs while the COMMIT waits
        assert not first.done()
        assert not second.done()  # queued behind the commit in flight
        conn.started.clear()
        conn.release.set()
        return [await first, await second]

    try:
        assert run_coroutine(scenario()) == ["a", "b"]
    finally:
        writer.close()
    reopened = sqlite3.connect(tmp_path / "s.db")
    assert [r[0] for r in reopened.execute("SELECT x FROM probe")] == ["a", "b"]
    reopened.close()


def test_on_a_loop_a_failed_commit_is_every_callers_error_and_the_next_group_commits(
    tmp_path: Path,
) -> None:
    import asyncio

    conn = _held(tmp_path)
    conn.execute("CREATE TABLE probe (x)")
    writer = sqlite_writer.GroupCommitWriter(conn)

    async def scenario() -> str:
        writer.run_on(asyncio.get_running_loop())
        conn.fail = True
        conn.release.set()
        with pytest.raises(StorageUnavailable, match="disk I/O error"):
            await writer.write_async(_insert("lost"))
        conn.fail = False
        return await writer.write_async(_insert("kept"))

    try:
        assert run_coroutine(scenario()) == "kept"
    finally:
        writer.close()
    reopened = sqlite3.connect(tmp_path / "s.db")
    assert [r[0] for r in reopened.execute("SELECT x FROM probe")] == ["kept"]
    reopened.close()


def test_a_database_from_before_arrivals_were_kept_gains_the_column_without_a_rebuild(
    tmp_path: Path,
) -> None:
    """Every event of such a database arrived by webhook; nothing else needs recomputing, so
    its transactions are kept as they are (a rebuild would rewrite each one)."""
    path = tmp_path / "webhooks.db"
    store = SQLiteStore(path)
    store.insert_all([make_event("evt_old")])
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE events DROP COLUMN arrival")
        conn.execute("UPDATE transactions SET late_count = 7")  # a rebuild would reset it
    reopened = SQLiteStore(path)
    try:
        event = reopened.get_event("stripe", "evt_old")
        assert event is not None
        assert event.arrival == "webhook"
        state = reopened.transaction("stripe", "pi_1")
        assert state is not None
        assert state.late_count == 7
    finally:
        reopened.close()


def test_another_process_queues_what_it_stores_for_the_sinks_the_server_registered(
    tmp_path: Path,
) -> None:
    """A ``reconcile`` command beside a running ``serve``: the server's lanes find the
    entries under their own names at their next poll, not under the unregistered name."""
    path = tmp_path / "webhooks.db"
    server = SQLiteStore(path)
    server.register_sinks(["file:events.jsonl", "http:hook"])
    command = SQLiteStore(path)
    try:
        command.insert_all([make_event("evt_recovered")])
        for sink in ("file:events.jsonl", "http:hook"):
            assert [i.event.event_id for i in server.due(sink, NOW, 10)] == ["evt_recovered"]
        assert server.due("", NOW, 10) == []
    finally:
        command.close()
        server.close()
