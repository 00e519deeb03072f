"""The SQLite schema: its tables and indexes, and how a database of an earlier release is
brought up to date when it is opened (nothing a user has stored is lost or rewritten).

* The first release kept one outbox row per event with the sinks that took it:
  :data:`MIGRATE_FROM_ONE_OUTBOX` carries its entries over as entries for every sink.
* Before transactions were kept, events had no ``txn_*`` columns, and before refunds and
  captures were records of their own (release 0.1.0 kept them inside the transaction) there
  were no movements: :func:`add_event_columns` adds the columns an earlier database lacks, and
  the store then applies every stored event to its transaction again, in the order received.

``tests/unit/test_sqlite_store.py`` opens a database made by each earlier schema.
"""

from __future__ import annotations

import sqlite3
from typing import Final

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
-- The sinks the last server registered: another process storing events (a reconcile
-- command) queues them for these, and a running server's lanes take them at their next poll.
CREATE TABLE IF NOT EXISTS outbox_sinks (
    sink            TEXT PRIMARY KEY
) WITHOUT ROWID;
{transactions}
{movements}
{reconciliations}
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
#: the provider's own ordering, the refund or capture it reports and the running totals it
#: carries. Added to an existing database on open.
EVENT_ADDITIONS: Final = {
    "sequence": "INTEGER",
    "movement_id": "TEXT",
    "refunded_total": "TEXT",  # exact decimal text
    "captured": "TEXT",
    "arrival": "TEXT",  # webhook | reconciliation; NULL: stored before it was kept (webhook)
    "txn_status": "TEXT",
    "txn_previous_status": "TEXT",
    "txn_late": "INTEGER",
    "txn_amount": "TEXT",  # exact decimal text
    "txn_refunded": "TEXT",
    "txn_currency": "TEXT",
    "txn_version": "INTEGER",
    "txn_authorized": "TEXT",
    "txn_captured": "TEXT",
    "txn_disputed": "TEXT",
    "txn_refund_reversed": "TEXT",
}

#: Each refund and capture of a transaction, as its latest report says: a row of its own, so
#: storing an event reads and writes one row whatever the transaction's history.
MOVEMENTS: Final = """
CREATE TABLE IF NOT EXISTS movements (
    provider        TEXT NOT NULL,
    transaction_id  TEXT NOT NULL,
    kind            TEXT NOT NULL,   -- refund | capture
    movement_id     TEXT NOT NULL,
    status          TEXT NOT NULL,   -- pending | succeeded | failed | canceled
    amount          TEXT NOT NULL,   -- exact decimal text
    currency        TEXT NOT NULL,
    rank            INTEGER NOT NULL,
    reported_at     TEXT NOT NULL,   -- the provider's time of the report that won
    sequence        INTEGER NOT NULL,
    event_id        TEXT NOT NULL,
    PRIMARY KEY (provider, transaction_id, kind, movement_id)
) WITHOUT ROWID;
"""
MOVEMENT_COLUMNS: Final = (
    "provider",
    "transaction_id",
    "kind",
    "movement_id",
    "status",
    "amount",
    "currency",
    "rank",
    "reported_at",
    "sequence",
    "event_id",
)

#: The reconciliations run against this store (see :mod:`webhook_processor.storage.journal`):
#: each provider's high-water mark and claim, each window listed whole, and each event listed
#: with what the first run that listed it did with it (the completeness report counts them).
RECONCILIATIONS: Final = """
CREATE TABLE IF NOT EXISTS reconcile_marks (
    provider          TEXT PRIMARY KEY,
    reconciled_until  TEXT,          -- the end of the last window listed whole
    claimed_by        TEXT,
    claimed_until     TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reconciled_windows (
    provider        TEXT NOT NULL,
    since           TEXT NOT NULL,
    until           TEXT NOT NULL,
    ran_at          TEXT NOT NULL,
    PRIMARY KEY (provider, until, since, ran_at)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reconciled_windows_by_end ON reconciled_windows (until);
CREATE TABLE IF NOT EXISTS listed_events (
    provider        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    created_at      TEXT NOT NULL,   -- the provider's time
    outcome         TEXT NOT NULL,   -- recovered | already_stored | ignored | unreadable
    PRIMARY KEY (provider, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS listed_events_by_created ON listed_events (created_at);
"""

#: Verified deliveries by provider and 5-minute bucket (see
#: :mod:`webhook_processor.storage.volume`), and the bucket each provider's counting began.
DELIVERY_COUNTS: Final = """
CREATE TABLE IF NOT EXISTS delivery_counts (
    provider        TEXT NOT NULL,
    bucket          INTEGER NOT NULL,   -- seconds since the epoch / 300
    count           INTEGER NOT NULL,
    PRIMARY KEY (provider, bucket)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_counts_by_bucket ON delivery_counts (bucket);
CREATE TABLE IF NOT EXISTS delivery_counts_since (
    provider        TEXT PRIMARY KEY,
    bucket          INTEGER NOT NULL
) WITHOUT ROWID;
"""

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
MIGRATE_FROM_ONE_OUTBOX: Final = """
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


def schema() -> str:
    additions = ",\n    ".join(f"{name} {kind}" for name, kind in EVENT_ADDITIONS.items())
    return (
        SCHEMA.format(
            event_additions=additions,
            transactions=TRANSACTIONS,
            movements=MOVEMENTS,
            reconciliations=RECONCILIATIONS,
        )
        + DELIVERY_COUNTS
    )


#: Event columns whose absence needs no transaction rebuilt: added with NULL (what their
#: readers take for the value every earlier event had).
PLAIN_ADDITIONS: Final = frozenset({"arrival"})

#: The event columns: the keys of the store's event rows, bound by name.
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
SELECT_EVENT: Final = ", ".join(f"e.{column}" for column in EVENT_COLUMNS)


def open_schema(conn: sqlite3.Connection) -> list[str]:
    """Create the tables of a new database, or carry an earlier one's over; return the event
    columns it lacks (see :func:`add_event_columns`)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    if "delivered_to" in columns:
        conn.executescript(MIGRATE_FROM_ONE_OUTBOX.format(schema=schema()))
    else:
        conn.executescript(schema())
    present = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    return [name for name in EVENT_ADDITIONS if name not in present]


def add_event_columns(conn: sqlite3.Connection, missing: list[str]) -> None:
    """Add the event columns an earlier database lacks (release 0.1.0's ``refund_id`` is
    carried over as ``movement_id``); the store then applies its events to their transactions
    again, in the same transaction."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    for name in missing:
        conn.execute(f"ALTER TABLE events ADD COLUMN {name} {EVENT_ADDITIONS[name]}")
    if "movement_id" in missing and "refund_id" in present:
        conn.execute("UPDATE events SET movement_id = refund_id")
    if "movement_id" in missing:
        # What the Adyen adapter names a refund or capture by since they are records of their
        # own: a modification's own pspReference (its metadata), so that a REFUND_FAILED
        # delivered after the upgrade finds the REFUND stored before it.
        conn.execute(
            "UPDATE events SET movement_id = json_extract(metadata, '$.psp_reference') "
            "WHERE provider = 'adyen' AND movement_id IS NULL "
            "AND status IN ('refunded', 'succeeded') "
            "AND transaction_id != json_extract(metadata, '$.psp_reference')"
        )
