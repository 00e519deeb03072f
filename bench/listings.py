"""The inspection listings at 10,000 and at 1,000,000 stored events, as a ratio (goal: x2).

Every listing (``transactions``, ``events``, ``dead-letters``, one ``transaction``'s timeline,
and the inspector page's pages, filters and search) must read a bounded number of rows through
an index, so its time must not grow with history.
The databases are filled with SQL (a recursive CTE: a million rows in seconds) in the store's
own schema: three events per transaction, a hundred dead letters, each transaction's row.
Each listing's query plan is printed as SQLite gives it (``EXPLAIN QUERY PLAN``).
"""

from __future__ import annotations

import sqlite3
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from webhook_processor.local.sqlite.pages import page_queries
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.rows import latest_events, latest_transactions
from webhook_processor.storage.paging import EventFilter, TransactionFilter

SIZES = (10_000, 1_000_000)
GOAL = 2.0
LIMIT = 20
#: Rows in one of the inspector's pages.
PAGE = 25

_FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
INSERT INTO events (key, provider, event_id, transaction_id, event_type, amount, currency,
    status, metadata, occurred_at, received_at, txn_status, txn_late, txn_amount,
    txn_refunded, txn_currency, txn_version)
SELECT 'stripe:evt_' || i, 'stripe', 'evt_' || i, 'pi_' || (i / 3), 'payment_intent.succeeded',
    '19.99', 'USD', 'succeeded', '{{}}',
    strftime('%Y-%m-%dT%H:%M:%f000+00:00', '2026-01-01', '+' || i || ' seconds'),
    strftime('%Y-%m-%dT%H:%M:%f000+00:00', '2026-01-01', '+' || i || ' seconds'),
    'succeeded', 0, '19.99', '0.00', 'USD', (i % 3) + 1
FROM n;
INSERT INTO transactions (provider, transaction_id, status, amount, refunded, currency,
    dimensions, event_count, late_count, version, last_event_id, updated_at)
SELECT 'stripe', transaction_id, 'succeeded', '19.99', '0.00', 'USD',
    '{{"payment":null,"captured":null,"refunds":{{}},"dispute":null}}', COUNT(*), 0, COUNT(*),
    MAX(event_id), MAX(received_at)
FROM events GROUP BY transaction_id;
INSERT INTO dead_letters (key, sink, attempts, last_error, failed_at, transient)
SELECT key, 'http', 5, 'answered 500', received_at, 1 FROM events WHERE rowid % {every} = 0;
"""


def _fill(path: Path, count: int) -> None:
    SQLiteStore(path).close()  # the store's own schema
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    # events is WITHOUT ROWID: pick dead letters by key order instead of rowid.
    script = _FILL.format(count=count, every=max(1, count // 100)).replace(
        "WHERE rowid % ", "WHERE CAST(substr(event_id, 5) AS INTEGER) % "
    )
    conn.executescript(script)
    conn.close()


def _seconds(call: Callable[[], object]) -> float:
    return min(timeit.repeat(call, number=5, repeat=5)) / 5


def _time_listings(path: Path) -> dict[str, float]:
    store = SQLiteStore(path)
    try:
        return {
            # What the CLI's commands read: the same listing API as the inspector's pages.
            "transactions": _seconds(lambda: latest_transactions(store, LIMIT)),
            "events": _seconds(lambda: latest_events(store, LIMIT)),
            "dead-letters": _seconds(lambda: store.dead_letter_page(None, LIMIT)),
            "transaction": _seconds(lambda: store.timeline(None, "pi_1000")),
            **_time_pages(store),
        }
    finally:
        store.close()


def _time_pages(store: SQLiteStore) -> dict[str, float]:
    """The inspector's pages (limit 25, as the page asks): first pages, a page after a cursor,
    each filter, a search."""
    second = store.event_page(EventFilter(), None, PAGE).next
    search = EventFilter(keys=("stripe:evt_600",), transaction_id="pi_1000")
    return {
        "page: events": _seconds(lambda: store.event_page(EventFilter(), None, PAGE)),
        "page: events, 2nd": _seconds(lambda: store.event_page(EventFilter(), second, PAGE)),
        "page: delivered": _seconds(
            lambda: store.event_page(EventFilter(delivery="delivered"), None, PAGE)
        ),
        "page: dead": _seconds(lambda: store.event_page(EventFilter(delivery="dead"), None, PAGE)),
        "page: search": _seconds(lambda: store.event_page(search, None, PAGE)),
        "page: refunded": _seconds(
            lambda: store.transaction_page(TransactionFilter(status="refunded"), None, PAGE)
        ),
        "page: dead letters": _seconds(lambda: store.dead_letter_page(None, PAGE)),
    }


#: The CLI's listings, by the page query each one runs.
_CLI_QUERIES = {
    "dead-letters": "dead letters",
    "transaction": "timeline of every provider",
}


def _plans(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    queries = page_queries()
    queries.update({cli: queries[page] for cli, page in _CLI_QUERIES.items()})
    try:
        return {
            name: [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", params)]
            for name, (query, params) in queries.items()
        }
    finally:
        conn.close()


def main() -> dict[str, Any]:
    small, large = SIZES
    print(f"listings at {large:,} stored events against {small:,} (goal x{GOAL}, limit {LIMIT})")
    timings: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for size in SIZES:
            path = Path(directory) / f"{size}.db"
            _fill(path, size)
            timings[size] = _time_listings(path)
        plans = _plans(Path(directory) / f"{large}.db")
    results: dict[str, Any] = {"goal": GOAL, "plans": plans}
    for name, at_large in timings[large].items():
        at_small = timings[small][name]
        ratio = at_large / at_small
        verdict = "met" if ratio <= GOAL else "MISSED"
        print(
            f"  {name:<20} {at_small * 1000:8.3f} ms -> {at_large * 1000:8.3f} ms  "
            f"x{ratio:.2f}  {verdict}"
        )
        if name in plans:
            print(f"  {'':<20} plan: {' / '.join(plans[name])}")
        results[name] = {"small_ms": at_small * 1000, "large_ms": at_large * 1000, "ratio": ratio}
    return results


if __name__ == "__main__":
    main()
