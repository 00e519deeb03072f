"""A reconciliation on fakes of the events APIs: what it stores, counts and refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.builders import NOW, stripe_event
from webhook_processor.errors import InvalidParameter, ProviderApiError, ProviderNotConfigured
from webhook_processor.model import Arrival
from webhook_processor.providers.stripe import StripeProvider
from webhook_processor.reconcile.apis import StripeEvents, check_base
from webhook_processor.reconcile.run import (
    DEFAULT_SINCE,
    OVERLAP,
    ReconcileBusy,
    ReconcileFailed,
    Reconciler,
    Source,
    parse_moment,
)
from webhook_processor.storage.journal import Listing
from webhook_processor.storage.memory import MemoryStore


class FakeApi:
    """Stripe-shaped events in pages; fails after ``fail_after`` pages if set."""

    provider = "stripe"
    retention = timedelta(days=30)

    def __init__(self, pages: list[list[dict[str, Any]]], fail_after: int | None = None) -> None:
        self._pages = pages
        self._fail_after = fail_after
        self.windows: list[tuple[datetime, datetime]] = []

    def pages(self, since: datetime, until: datetime) -> Iterator[list[dict[str, Any]]]:
        self.windows.append((since, until))
        for number, page in enumerate(self._pages):
            if self._fail_after is not None and number >= self._fail_after:
                raise ProviderApiError("stripe", "answered 500: api_error")
            yield page

    def identify(self, event: dict[str, Any]) -> tuple[str | None, datetime | None]:
        return StripeEvents.identify(self, event)  # type: ignore[arg-type]


def _event(n: int, event_type: str = "payment_intent.succeeded") -> dict[str, Any]:
    return stripe_event(f"evt_{n}", event_type, id=f"pi_{n}")


def _reconciler(api: FakeApi, store: MemoryStore, now: datetime = NOW) -> Reconciler:
    source = Source(api, StripeProvider().normalise)
    return Reconciler({"stripe": source}, store, clock=lambda: now)


def test_listed_payment_events_are_stored_once_marked_recovered_and_the_rest_counted() -> None:
    store = MemoryStore()
    unreadable = _event(4) | {"data": {"object": {"id": "pi_4"}}}  # no currency
    api = FakeApi([[_event(1), _event(2)], [_event(3, "customer.created"), unreadable]])
    store.insert_all(StripeProvider().normalise(_event(2), NOW))  # delivered by webhook
    report = _reconciler(api, store).run("stripe")
    assert report.as_json() | {"since": None, "until": None} == {
        "provider": "stripe",
        "since": None,
        "until": None,
        "listed": 4,
        "recovered": 1,
        "already_stored": 1,
        "ignored": 1,
        "unreadable": 1,
        "dry_run": False,
    }
    recovered = store.get_event("stripe", "evt_1")
    assert recovered is not None
    assert recovered.arrival == Arrival.RECONCILIATION
    delivered = store.get_event("stripe", "evt_2")
    assert delivered is not None
    assert delivered.arrival == Arrival.WEBHOOK
    # Both are queued for publication, each once.
    assert sorted(item.event.key for item in store.due("", NOW, 10)) == [
        "stripe:evt_1",
        "stripe:evt_2",
    ]


def test_a_second_run_recovers_nothing_and_a_dry_run_stores_nothing() -> None:
    store = MemoryStore()
    api = FakeApi([[_event(1), _event(2)]])
    dry = _reconciler(api, store).run("stripe", dry_run=True)
    assert (dry.count(Listing.RECOVERED), dry.dry_run) == (2, True)
    assert store.get_event("stripe", "evt_1") is None
    assert store.reconciled_until("stripe") is None  # a dry run is no reconciliation
    assert _reconciler(api, store).run("stripe").count(Listing.RECOVERED) == 2
    again = _reconciler(api, store).run("stripe")
    assert (again.count(Listing.RECOVERED), again.count(Listing.ALREADY_STORED)) == (0, 2)


def test_a_failure_part_way_keeps_what_was_stored_and_leaves_the_mark() -> None:
    store = MemoryStore()
    api = FakeApi([[_event(1)], [_event(2)]], fail_after=1)
    with pytest.raises(ReconcileFailed) as failed:
        _reconciler(api, store).run("stripe")
    assert "1 events recovered before it are stored" in failed.value.detail
    assert failed.value.report.count(Listing.RECOVERED) == 1
    assert store.get_event("stripe", "evt_1") is not None
    assert store.reconciled_until("stripe") is None
    # The claim was released: the next run goes ahead.
    assert _reconciler(FakeApi([[_event(2)]]), store).run("stripe").count(Listing.RECOVERED) == 1


def test_a_scheduled_run_starts_at_the_mark_less_the_overlap_and_the_first_72h_ago() -> None:
    store = MemoryStore()
    api = FakeApi([[]])
    _reconciler(api, store).run("stripe")
    later = NOW + timedelta(minutes=15)
    _reconciler(api, store, later).run("stripe")
    assert api.windows == [(NOW - DEFAULT_SINCE, NOW), (NOW - OVERLAP, later)]
    assert store.reconciled_until("stripe") == later


def test_two_runs_of_one_provider_never_overlap() -> None:
    store = MemoryStore()
    assert store.claim_reconciliation("stripe", "someone-else", NOW)
    with pytest.raises(ReconcileBusy, match="another reconciliation of stripe"):
        _reconciler(FakeApi([[_event(1)]]), store).run("stripe")
    assert store.get_event("stripe", "evt_1") is None
    # A claim whose holder died expires.
    later = NOW + timedelta(hours=1)
    assert (
        _reconciler(FakeApi([[_event(1)]]), store, later).run("stripe").count(Listing.RECOVERED)
        == 1
    )


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        (NOW - timedelta(days=31), None, "lists the last 30 days"),
        (NOW, None, "is not before --until"),
        (NOW - timedelta(hours=1), NOW - timedelta(hours=2), "is not before --until"),
    ],
)
def test_a_window_the_provider_cannot_list_is_refused(
    since: datetime, until: datetime | None, message: str
) -> None:
    with pytest.raises(InvalidParameter, match=message):
        _reconciler(FakeApi([]), MemoryStore()).run("stripe", since, until)


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ("adyen", "Adyen has no API that lists past notifications"),
        ("generic", "ask the sending system to resend"),
        ("square", "no API key for square: set WEBHOOK_API_KEY_SQUARE"),
    ],
)
def test_a_provider_without_an_api_or_a_key_is_refused_with_what_to_do(
    provider: str, message: str
) -> None:
    with pytest.raises(ProviderNotConfigured, match=message):
        _reconciler(FakeApi([]), MemoryStore()).run(provider)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72h", NOW - timedelta(hours=72)),
        ("15m", NOW - timedelta(minutes=15)),
        ("7d", NOW - timedelta(days=7)),
        ("1h30m", NOW - timedelta(minutes=90)),
        ("2026-11-28T08:00:00Z", datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("2026-11-28T09:00:00+01:00", datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_a_time_with_its_offset_or_a_utc_day(
    text: str, expected: datetime
) -> None:
    assert parse_moment(text, NOW, "--since") == expected


@pytest.mark.parametrize("text", ["", "yesterday", "72", "2026-11-28T08:00:00", "h"])
def test_a_moment_that_is_neither_is_refused(text: str) -> None:
    with pytest.raises(InvalidParameter, match="--since"):
        parse_moment(text, NOW, "--since")


@pytest.mark.parametrize(
    "base",
    [
        "http://api.stripe.com",
        "http://10.0.0.1:12111",
        "ftp://127.0.0.1",
        "api.stripe.com",
        "http://user:sk_live_secret@example.com",
    ],
)
def test_an_api_root_that_would_send_the_key_in_clear_text_is_refused(base: str) -> None:
    with pytest.raises(ProviderNotConfigured, match="must be https") as refused:
        check_base("stripe", base)
    assert "sk_live_secret" not in refused.value.detail


@pytest.mark.parametrize(
    "base",
    ["https://api.stripe.com/", "http://127.0.0.1:12111", "http://[::1]:8", "http://localhost"],
)
def test_https_or_loopback_roots_are_taken(base: str) -> None:
    assert check_base("stripe", base) == base.rstrip("/")
