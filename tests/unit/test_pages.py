"""The inspector's pages, on every local store: each listing walked page by page through its
cursors gives every matching row exactly once, in its order, and a cursor a listing did not make
is refused."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.builders import NOW, make_event
from tests.unit.test_store_contract import LOCAL_STORES
from webhook_processor.errors import InvalidParameter
from webhook_processor.local.sqlite import pages as sqlite_pages
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.model import PaymentEvent
from webhook_processor.storage.base import LocalStore
from webhook_processor.storage.paging import (
    EventFilter,
    Page,
    SinkDelivery,
    TransactionFilter,
    encode_cursor,
)

T = TypeVar("T")
PROVIDERS = ("stripe", "generic", "adyen")


@pytest.fixture(params=sorted(LOCAL_STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalStore]:
    built = LOCAL_STORES[request.param](tmp_path)
    built.register_sinks(["file", "http"])
    yield built
    built.close()


def event(n: int, **fields: object) -> PaymentEvent:
    """The n-th event: providers in turn, one second apart, its own transaction."""
    defaults: dict[str, object] = {
        "provider": PROVIDERS[n % len(PROVIDERS)],
        "transaction_id": f"txn_{n}",
        "received_at": NOW + timedelta(seconds=n),
        "occurred_at": NOW + timedelta(seconds=n),
    }
    return make_event(f"evt_{n:02d}", **{**defaults, **fields})


def walk(read: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a listing, following its cursors to the page without one."""
    items: list[T] = []
    cursor = None
    for _ in range(100):
        page = read(cursor)
        items += page.items
        if page.next is None:
            return items
        cursor = page.next
    raise AssertionError("a listing that never ends")


def keys(events: list[PaymentEvent]) -> list[str]:
    return [e.key for e in events]


def test_events_are_walked_newest_first_each_once_ties_by_key(store: LocalStore) -> None:
    # Two pairs received in the same microsecond: the key orders them.
    stored = [event(n) for n in range(10)]
    stored += [event(10, received_at=NOW), event(11, received_at=NOW + timedelta(seconds=5))]
    store.insert_all(stored)
    expected = keys(sorted(stored, key=lambda e: (e.received_at, e.key), reverse=True))

    walked = walk(lambda cursor: store.event_page(EventFilter(), cursor, 3))
    assert keys(walked) == expected
    assert walked[0] == stored[9]
    stripe = walk(lambda cursor: store.event_page(EventFilter("stripe"), cursor, 2))
    assert keys(stripe) == [key for key in expected if key.startswith("stripe:")]


def test_a_full_last_page_says_nothing_follows_only_on_the_next_read(store: LocalStore) -> None:
    store.insert_all([event(n) for n in range(4)])
    first = store.event_page(EventFilter(), None, 4)
    assert len(first.items) == 4
    assert first.next is not None
    assert store.event_page(EventFilter(), first.next, 4) == Page([], None)
    assert store.event_page(EventFilter(), None, 5).next is None


def test_events_by_delivery_state(store: LocalStore) -> None:
    store.insert_all([event(n) for n in range(9)])
    everything = [event(n).key for n in range(9)]
    # 0-2 taken by both sinks; 3-5 dead for http (file took them); 6-8 still pending.
    store.complete_deliveries("file", everything[:6], NOW)
    store.complete_deliveries("http", everything[:3], NOW)
    for key in everything[3:6]:
        store.fail_delivery("http", key, "answered 500", at=NOW, retry_at=None)

    def listed(state: str) -> list[str]:
        return keys(walk(lambda cursor: store.event_page(EventFilter(None, state), cursor, 2)))

    assert listed("delivered") == [everything[n] for n in (2, 1, 0)]  # newest first
    assert listed("dead") == sorted(everything[3:6], reverse=True)
    assert listed("pending") == sorted(everything[6:], reverse=True)
    generic_dead = store.event_page(EventFilter("generic", "dead"), None, 10)
    assert keys(generic_dead.items) == ["generic:evt_04"]

    found = store.deliveries([everything[0], everything[4], everything[7]])
    assert found[everything[0]] == []
    assert found[everything[4]] == [SinkDelivery("http", "dead", 1, "answered 500")]
    assert sorted(d.sink for d in found[everything[7]]) == ["file", "http"]
    assert {d.state for d in found[everything[7]]} == {"pending"}


def test_a_search_lists_its_keys_then_its_transaction_by_provider_time(
    store: LocalStore,
) -> None:
    of_transaction = [
        event(n, provider="stripe", transaction_id="pi_9", occurred_at=NOW + timedelta(hours=-n))
        for n in range(5)
    ]
    store.insert_all([*of_transaction, event(7), event(8)])
    search = EventFilter(keys=("generic:evt_07", "stripe:evt_missing"), transaction_id="pi_9")

    walked = walk(lambda cursor: store.event_page(search, cursor, 2))
    # The key's hit first; then the transaction, latest provider time first.
    assert keys(walked) == ["generic:evt_07", *keys(of_transaction)]


def test_transactions_are_walked_latest_update_first_and_found_by_id(
    store: LocalStore,
) -> None:
    refund = {"event_type": "refund.created", "status": "refunded", "movement_id": "re_1"}
    store.insert_all([event(n) for n in range(6)])
    store.insert_all([event(20, transaction_id="txn_1", provider="generic", **refund)])
    store.insert_all([event(21, transaction_id="txn_1", provider="stripe")])

    walked = walk(lambda cursor: store.transaction_page(TransactionFilter(), cursor, 2))
    assert [(t.provider, t.transaction_id) for t in walked] == [
        ("stripe", "txn_1"),
        ("generic", "txn_1"),
        *[(PROVIDERS[n % 3], f"txn_{n}") for n in (5, 4, 3, 2, 0)],
    ]
    refunded = store.transaction_page(TransactionFilter(status="refunded"), None, 10)
    assert [t.transaction_id for t in refunded.items] == ["txn_1"]
    adyen = walk(lambda c: store.transaction_page(TransactionFilter("adyen"), c, 1))
    assert [t.transaction_id for t in adyen] == ["txn_5", "txn_2"]
    by_id = store.transaction_page(TransactionFilter(transaction_id="txn_1"), None, 10)
    assert [t.provider for t in by_id.items] == ["generic", "stripe"]
    assert by_id.next is None


def test_dead_letters_are_walked_oldest_failure_first(store: LocalStore) -> None:
    store.insert_all([event(n) for n in range(5)])
    for n in (3, 1, 4, 0):
        at = NOW + timedelta(minutes=n)
        store.fail_delivery("http", event(n).key, f"failure {n}", at=at, retry_at=None)
    walked = walk(lambda cursor: store.dead_letter_page(cursor, 3))
    assert [letter.last_error for letter in walked] == [f"failure {n}" for n in (0, 1, 3, 4)]


def test_a_timeline_is_cut_at_its_limit(store: LocalStore) -> None:
    store.insert_all([event(n, transaction_id="pi_long", provider="stripe") for n in range(6)])
    store.insert_all([event(9, transaction_id="pi_long", provider="generic")])
    timeline = store.timeline("stripe", "pi_long", 4)
    assert keys(timeline) == [f"stripe:evt_{n:02d}" for n in range(4)]
    assert keys(store.timeline("generic", "pi_long", 4)) == ["generic:evt_09"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "!!!",
        encode_cursor("transactions", ["a", "b", "c"]),  # another listing's
        encode_cursor("events", ["only one value"]),
        "A" * 3000,
        encode_cursor("events", ["\ud800", "x"]),  # not text SQLite can take
        base64.urlsafe_b64encode(b"[" * 1500).decode(),  # JSON too deep to parse
    ],
)
def test_a_cursor_the_listing_did_not_make_is_refused(store: LocalStore, cursor: str) -> None:
    store.insert_all([event(0)])
    with pytest.raises(InvalidParameter, match="cursor"):
        store.event_page(EventFilter(), cursor, 10)


def test_a_delivered_page_looks_at_a_bounded_window_and_says_where_to_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Delivered is the absence of rows, which no index holds: a page of them examines at most
    # DELIVERED_WINDOW events, however few of those were delivered.
    monkeypatch.setattr(sqlite_pages, "DELIVERED_WINDOW", 4)
    store = SQLiteStore(tmp_path / "s.db")
    store.register_sinks(["file"])
    store.insert_all([event(n) for n in range(10)])
    store.complete_deliveries("file", [event(0).key, event(1).key], NOW)
    try:
        first = store.event_page(EventFilter(delivery="delivered"), None, 25)
        assert first.items == []
        assert first.next is not None
        walked = walk(lambda cursor: store.event_page(EventFilter(None, "delivered"), cursor, 25))
        assert keys(walked) == [event(1).key, event(0).key]
    finally:
        store.close()
