"""The SQLite store's reconciliation journal and completeness counts (the tables are
:data:`~webhook_processor.local.sqlite.schema.RECONCILIATIONS`), and its delivery counts
(:data:`~webhook_processor.local.sqlite.schema.DELIVERY_COUNTS`).

The writes are work for the group-commit writer, like the outbox's; a claim is one conditional
upsert, so two processes on one database (``serve --reconcile-every`` and a ``reconcile``
command) never list one provider at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from webhook_processor.storage.journal import CLAIM_SECONDS, Report
from webhook_processor.storage.records import iso
from webhook_processor.storage.volume import KEEP_BUCKETS


def claim(provider: str, holder: str, now: datetime) -> Callable[[sqlite3.Connection], bool]:
    until = iso(now + timedelta(seconds=CLAIM_SECONDS))

    def work(conn: sqlite3.Connection) -> bool:
        cursor = conn.execute(
            "INSERT INTO reconcile_marks (provider, claimed_by, claimed_until) VALUES (?, ?, ?) "
            "ON CONFLICT (provider) DO UPDATE SET "
            "claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until "
            "WHERE claimed_by IS NULL OR claimed_by = excluded.claimed_by OR claimed_until <= ?",
            (provider, holder, until, iso(now)),
        )
        return cursor.rowcount == 1

    return work


def finish(report: Report, holder: str, now: datetime) -> Callable[[sqlite3.Connection], None]:
    provider, window = report.provider, report.window

    def work(conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT INTO listed_events (provider, event_id, created_at, outcome) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING",
            [
                (provider, listed.event_id, iso(listed.created_at), listed.outcome.value)
                for listed in report.listings
            ],
        )
        conn.execute(
            "INSERT OR IGNORE INTO reconciled_windows (provider, since, until, ran_at) "
            "VALUES (?, ?, ?, ?)",
            (provider, iso(window.since), iso(window.until), iso(now)),
        )
        if report.advances_mark:
            conn.execute(
                "INSERT INTO reconcile_marks (provider, reconciled_until) VALUES (?, ?) "
                "ON CONFLICT (provider) DO UPDATE SET reconciled_until = "
                "max(coalesce(reconciled_until, ''), excluded.reconciled_until)",
                (provider, iso(window.until)),
            )
        release(provider, holder)(conn)

    return work


def release(provider: str, holder: str) -> Callable[[sqlite3.Connection], None]:
    def work(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE reconcile_marks SET claimed_by = NULL, claimed_until = NULL "
            "WHERE provider = ? AND claimed_by = ?",
            (provider, holder),
        )

    return work


#: Stored events by provider, day and arrival, created at or after a moment. An event is
#: received at or after it is created, so the index on received_at bounds the scan.
ARRIVALS_BY_DAY = (
    "SELECT provider, substr(occurred_at, 1, 10) AS day, coalesce(arrival, 'webhook') AS kind, "
    "count(*) AS n FROM events WHERE received_at >= ?1 AND occurred_at >= ?1 "
    "GROUP BY provider, day, kind"
)
LISTINGS_BY_DAY = (
    "SELECT provider, substr(created_at, 1, 10) AS day, outcome AS kind, count(*) AS n "
    "FROM listed_events WHERE created_at >= ? GROUP BY provider, day, kind"
)


def add_deliveries(counts: Mapping[tuple[str, int], int]) -> Callable[[sqlite3.Connection], None]:
    """One upsert per provider and bucket, the first bucket of each provider kept, and the
    buckets older than :data:`~webhook_processor.storage.volume.KEEP` deleted."""
    rows = [(provider, bucket, count) for (provider, bucket), count in counts.items()]

    def work(conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT INTO delivery_counts (provider, bucket, count) VALUES (?, ?, ?) "
            "ON CONFLICT (provider, bucket) DO UPDATE SET count = count + excluded.count",
            rows,
        )
        conn.executemany(
            "INSERT INTO delivery_counts_since (provider, bucket) VALUES (?, ?) "
            "ON CONFLICT (provider) DO UPDATE SET bucket = min(bucket, excluded.bucket)",
            [(provider, bucket) for provider, bucket, _ in rows],
        )
        conn.execute(
            "DELETE FROM delivery_counts WHERE bucket < ?",
            (max(bucket for _, bucket, _ in rows) - KEEP_BUCKETS,),
        )

    return work
