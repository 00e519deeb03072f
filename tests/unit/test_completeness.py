"""The completeness report: each provider's days, what came how, and how much was reconciled."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.builders import make_event
from webhook_processor.model import Arrival
from webhook_processor.reconcile.completeness import NO_API, NO_KEY, completeness
from webhook_processor.storage.journal import Listed, Listing, Report, Window
from webhook_processor.storage.memory import MemoryStore

DAY = datetime(2026, 11, 28, tzinfo=UTC)
NOON = DAY + timedelta(hours=12)


def _reconciled(store: MemoryStore, since: datetime, until: datetime, *listed: Listed) -> None:
    report = Report("stripe", Window(since, until), listings=list(listed))
    assert store.claim_reconciliation("stripe", "me", until)
    store.finish_reconciliation(report, "me", until)


def _rows(store: MemoryStore, now: datetime = NOON) -> dict[tuple[str, str], dict[str, object]]:
    rows = completeness(store, DAY - timedelta(days=1), now, listable=["stripe"])
    return {(row.provider, row.day): row.as_json() for row in rows}


def test_a_day_counts_webhooks_recoveries_and_what_the_provider_listed() -> None:
    store = MemoryStore()
    webhook = make_event("evt_w", occurred_at=DAY + timedelta(hours=1))
    recovered = replace(
        make_event("evt_r", occurred_at=DAY + timedelta(hours=2)), arrival=Arrival.RECONCILIATION
    )
    store.insert_all([webhook, recovered])
    _reconciled(
        store,
        DAY,
        NOON,
        Listed("evt_w", webhook.occurred_at, Listing.ALREADY_STORED),
        Listed("evt_r", recovered.occurred_at, Listing.RECOVERED),
        Listed("evt_x", DAY + timedelta(hours=3), Listing.IGNORED),
    )
    today = _rows(store)["stripe", "2026-11-28"]
    assert today == {
        "provider": "stripe",
        "day": "2026-11-28",
        "webhook": 1,
        "recovered": 1,
        "ignored": 1,
        "unreadable": 0,
        "listed": 3,
        "reconciled": "whole",  # up to now, the whole of today so far
    }
    assert _rows(store)["stripe", "2026-11-27"]["reconciled"] == "never"
    assert _rows(store)["stripe", "2026-11-27"]["listed"] is None


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        ([(0, 12)], "whole"),
        ([(0, 5), (5, 12)], "whole"),
        ([(0, 5), (4, 12)], "whole"),
        ([(0, 5), (6, 12)], "part"),
        ([(1, 12)], "part"),
        ([(0, 11)], "part"),
        ([(-30, 40)], "whole"),
    ],
)
def test_a_day_is_whole_only_when_its_windows_leave_no_gap(
    windows: list[tuple[int, int]], expected: str
) -> None:
    store = MemoryStore()
    for start, end in windows:
        _reconciled(store, DAY + timedelta(hours=start), DAY + timedelta(hours=end))
    assert _rows(store)["stripe", "2026-11-28"]["reconciled"] == expected


def test_providers_without_a_key_or_an_api_say_so() -> None:
    store = MemoryStore()
    store.insert_all([make_event("evt_a", provider="adyen", occurred_at=DAY)])
    rows = completeness(store, DAY, NOON, listable=[], providers=["stripe", "adyen"])
    verdicts = {row.provider: row.reconciled for row in rows}
    assert verdicts == {"stripe": NO_KEY, "adyen": NO_API}
    assert [row.webhook for row in rows if row.provider == "adyen"] == [1]
