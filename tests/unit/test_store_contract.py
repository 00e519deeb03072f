"""The store contract: every EventStore implementation passes the first half, every LocalStore
(the stores that are also the local outbox) the second, and every store reconciled into
(:data:`JOURNAL_STORES`) the journal's."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.support.aws import TABLE, create_table
from tests.support.builders import NOW, make_event
from tests.support.histories import deliveries, final, histories, replay
from tests.support.loopback import run_coroutine
from tests.support.stores import dead_letters, recent_events, recent_transactions
from webhook_processor.aws.dynamodb import DynamoDBStore
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.model import Arrival, PaymentEvent
from webhook_processor.reconcile.run import ReconcileStore
from webhook_processor.storage.base import Backlog, Delivery, EventStore, LocalStore
from webhook_processor.storage.journal import CLAIM_SECONDS, Listed, Listing, Report, Window
from webhook_processor.storage.memory import MemoryStore
from webhook_processor.storage.volume import KEEP_BUCKETS

LOCAL_STORES: dict[str, Callable[[Path], LocalStore]] = {
    "memory": lambda _: MemoryStore(),
    "sqlite": lambda tmp: SQLiteStore(tmp / "store.db"),
}


@pytest.fixture(params=sorted(LOCAL_STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalStore]:
    """A local store publishing to one sink, ``file``."""
    built = LOCAL_STORES[request.param](tmp_path)
    built.register_sinks(["file"])
    yield built
    built.close()


@pytest.fixture(params=[*sorted(LOCAL_STORES), "dynamodb"])
def event_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param != "dynamodb":
        built = LOCAL_STORES[request.param](tmp_path)
        yield built
        built.close()
        return
    with mock_aws():
        session = boto3.Session()
        create_table(session)
        yield DynamoDBStore(TABLE, session.client("dynamodb"))


@contextlib.contextmanager
def _memory_journal(_: Path) -> Iterator[ReconcileStore]:
    yield MemoryStore()


@contextlib.contextmanager
def _dynamodb_journal(_: Path) -> Iterator[ReconcileStore]:
    with mock_aws():
        session = boto3.Session()
        create_table(session)
        yield DynamoDBStore(TABLE, session.client("dynamodb"))


@contextlib.contextmanager
def _sqlite_journal(directory: Path) -> Iterator[ReconcileStore]:
    built = SQLiteStore(directory / "webhooks.db")
    yield built
    built.close()


#: The stores that keep a reconciliation journal: a store that gains one adds its entry here.
JOURNAL_STORES: dict[str, Callable[[Path], contextlib.AbstractContextManager[ReconcileStore]]] = {
    "memory": _memory_journal,
    "sqlite": _sqlite_journal,
    "dynamodb": _dynamodb_journal,
}


@pytest.fixture(params=sorted(JOURNAL_STORES))
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReconcileStore]:
    with JOURNAL_STORES[request.param](tmp_path) as built:
        yield built


# -- EventStore ------------------------------------------------------------------------------


def test_insert_all_stores_each_event_once(event_store: EventStore) -> None:
    event = make_event()
    assert event_store.insert_all([event]) == [True]
    assert event_store.insert_all([replace(event, amount=Decimal("5.00"))]) == [False]
    assert event_store.get_event("stripe", "evt_1") == event


def test_a_batch_reports_each_event_and_a_retried_batch_completes_it(
    event_store: EventStore,
) -> None:
    """Adyen's batches: what a failure interrupted, the provider's retry stores; nothing twice."""
    first, second, third = (make_event(f"evt_{n}") for n in range(3))
    assert event_store.insert_all([second]) == [True]
    assert event_store.insert_all([first, second, third]) == [True, False, True]
    assert event_store.insert_all([first, second, third]) == [False, False, False]
    assert [e.event_id for e in event_store.timeline(None, "pi_1")] == [
        "evt_0",
        "evt_1",
        "evt_2",
    ]


def test_the_async_insert_is_the_same_insert(event_store: EventStore) -> None:
    event = make_event()
    assert run_coroutine(event_store.insert_all_async([event])) == [True]
    assert run_coroutine(event_store.insert_all_async([event, make_event("evt_2")])) == [
        False,
        True,
    ]
    assert event_store.get_event("stripe", "evt_2") == make_event("evt_2")


def test_same_event_id_from_two_providers_are_two_events(event_store: EventStore) -> None:
    assert event_store.insert_all([make_event()]) == [True]
    assert event_store.insert_all([make_event(provider="generic")]) == [True]
    assert event_store.get_event("generic", "evt_1") is not None


def test_get_event_of_unknown_key_is_none(event_store: EventStore) -> None:
    assert event_store.get_event("stripe", "evt_missing") is None


def test_amounts_and_metadata_round_trip_exactly(event_store: EventStore) -> None:
    event = make_event(amount=Decimal("0.001"), currency="BHD")
    event_store.insert_all([event])
    stored = event_store.get_event("stripe", "evt_1")
    assert stored is not None
    assert str(stored.amount) == "0.001"
    assert stored.metadata == {"order": "42", "rate": Decimal("0.125")}
    assert stored.occurred_at == NOW


def test_events_for_transaction_are_oldest_first(event_store: EventStore) -> None:
    later = make_event("evt_2", occurred_at=NOW + timedelta(seconds=1), status="refunded")
    event_store.insert_all([later])
    event_store.insert_all([make_event("evt_1")])
    event_store.insert_all([make_event("evt_3", transaction_id="pi_other")])
    assert [e.event_id for e in event_store.timeline(None, "pi_1")] == ["evt_1", "evt_2"]
    assert event_store.timeline(None, "pi_none") == []


def test_concurrent_inserts_of_one_event_store_it_once(event_store: EventStore) -> None:
    if isinstance(event_store, DynamoDBStore):
        pytest.skip(
            "moto checks a ConditionExpression and writes without a lock, so threads can both "
            "win; the atomicity of conditional writes is DynamoDB's own guarantee"
        )
    event = make_event()
    barrier = threading.Barrier(20)
    results: list[bool] = []

    def insert() -> None:
        barrier.wait()
        results.extend(event_store.insert_all([event]))

    threads = [threading.Thread(target=insert) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert event_store.get_event("stripe", "evt_1") == event


# -- outbox ----------------------------------------------------------------------------------


def test_a_stored_event_is_due_for_delivery_at_once(store: LocalStore) -> None:
    store.insert_all([make_event()])
    [item] = store.due("file", NOW, 10)
    assert (item.event.key, item.attempts) == ("stripe:evt_1", 0)


def test_concurrent_inserts_of_one_event_queue_it_once(store: LocalStore) -> None:
    event = make_event()
    threads = [threading.Thread(target=store.insert_all, args=([event],)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.due("file", NOW, 100)) == 1


def test_a_duplicate_insert_queues_nothing_more(store: LocalStore) -> None:
    store.insert_all([make_event()])
    store.insert_all([make_event()])
    assert len(store.due("file", NOW, 10)) == 1


def test_due_respects_limit_and_order(store: LocalStore) -> None:
    for n in range(5):
        store.insert_all([make_event(f"evt_{n}", received_at=NOW + timedelta(seconds=n))])
    assert [i.event.event_id for i in store.due("file", NOW + timedelta(seconds=9), 3)] == [
        "evt_0",
        "evt_1",
        "evt_2",
    ]
    assert [i.event.event_id for i in store.due("file", NOW + timedelta(seconds=1), 10)] == [
        "evt_0",
        "evt_1",
    ]


def test_each_sink_has_its_own_entries(store: LocalStore) -> None:
    store.register_sinks(["file", "http"])
    store.insert_all([make_event()])
    store.fail_delivery("http", "stripe:evt_1", "http: 500", at=NOW, retry_at=NOW + timedelta(1))
    store.complete_deliveries("file", ["stripe:evt_1"], NOW)
    assert store.due("file", NOW + timedelta(days=2), 10) == []
    [item] = store.due("http", NOW + timedelta(days=2), 10)
    assert item.attempts == 1
    assert recent_events(store, 1)[0].delivery is Delivery.PENDING
    store.complete_deliveries("http", ["stripe:evt_1"], NOW)
    assert recent_events(store, 1)[0].delivery is Delivery.DELIVERED


def test_events_stored_before_any_sink_is_registered_go_to_every_sink(tmp_path: Path) -> None:
    for name, build in LOCAL_STORES.items():
        built = build(tmp_path / name)
        try:
            built.insert_all([make_event()])
            built.register_sinks(["file", "http"])
            assert len(built.due("file", NOW, 10)) == len(built.due("http", NOW, 10)) == 1
        finally:
            built.close()


def test_complete_delivery_removes_from_outbox(store: LocalStore) -> None:
    store.insert_all([make_event()])
    store.insert_all([make_event("evt_2")])
    store.complete_deliveries("file", ["stripe:evt_1", "stripe:evt_2"], NOW)
    assert store.due("file", NOW + timedelta(days=1), 10) == []
    assert {r.delivery for r in recent_events(store, 10)} == {Delivery.DELIVERED}


def test_failed_delivery_is_retried_later(store: LocalStore) -> None:
    store.insert_all([make_event()])
    later = NOW + timedelta(seconds=30)
    store.fail_delivery("file", "stripe:evt_1", "file: disk full", at=NOW, retry_at=later)
    assert store.due("file", NOW, 10) == []
    [item] = store.due("file", later, 10)
    assert item.attempts == 1
    [record] = recent_events(store, 10)
    assert (record.delivery, record.attempts, record.last_error) == (
        Delivery.PENDING,
        1,
        "file: disk full",
    )


def test_final_failure_moves_to_dead_letters_and_redrive_brings_it_back(
    store: LocalStore,
) -> None:
    store.insert_all([make_event()])
    store.fail_delivery("file", "stripe:evt_1", "boom", at=NOW, retry_at=None, transient=False)
    assert store.due("file", NOW + timedelta(days=1), 10) == []
    [letter] = dead_letters(store)
    assert (letter.key, letter.sink, letter.attempts, letter.last_error, letter.failed_at) == (
        "stripe:evt_1",
        "file",
        1,
        "boom",
        NOW,
    )
    assert (letter.event, letter.transient) == (make_event(), False)
    assert recent_events(store, 10)[0].delivery is Delivery.DEAD
    assert store.redrive_transient("file", NOW) == 0  # the event failed, not the sink

    assert store.redrive(["stripe:evt_unknown"], NOW) == []
    assert store.redrive(["stripe:evt_1"], NOW) == ["stripe:evt_1"]
    assert dead_letters(store) == []
    [item] = store.due("file", NOW, 10)
    assert item.attempts == 0


def test_dead_letters_of_a_sink_outage_are_redriven_for_that_sink(store: LocalStore) -> None:
    store.register_sinks(["file", "http"])
    for n in range(2):
        store.insert_all([make_event(f"evt_{n}")])
        store.fail_delivery("http", f"stripe:evt_{n}", "down", at=NOW, retry_at=None)
    assert store.redrive_transient("file", NOW) == 0
    assert store.redrive_transient("http", NOW, limit=1) == 1
    assert [i.event.key for i in store.due("http", NOW, 10)] == ["stripe:evt_0"]
    assert store.redrive_transient("http", NOW) == 1
    assert dead_letters(store) == []
    assert len(store.due("http", NOW, 10)) == 2


def test_redrive_all(store: LocalStore) -> None:
    for n in range(3):
        store.insert_all([make_event(f"evt_{n}")])
        store.fail_delivery("file", f"stripe:evt_{n}", "x", at=NOW, retry_at=None)
    assert store.redrive(None, NOW) == ["stripe:evt_0", "stripe:evt_1", "stripe:evt_2"]
    assert len(store.due("file", NOW, 10)) == 3


def test_recent_events_newest_first(store: LocalStore) -> None:
    for n in range(3):
        store.insert_all([make_event(f"evt_{n}", received_at=NOW + timedelta(seconds=n))])
    assert [r.event.event_id for r in recent_events(store, 2)] == ["evt_2", "evt_1"]


def test_transactions_are_listed_latest_update_first_with_where_each_stands(
    store: LocalStore,
) -> None:
    store.insert_all([make_event("evt_1", amount=Decimal("10.00"))])
    store.insert_all(
        [
            make_event("evt_3", transaction_id="pi_2", amount=Decimal("5.00"), received_at=NOW),
            make_event(
                "evt_2",
                status="refunded",
                amount=Decimal("4.00"),
                received_at=NOW + timedelta(seconds=5),
            ),
        ]
    )
    first, second = recent_transactions(store, 10)
    assert (first.transaction_id, first.status, first.refunded, first.event_count) == (
        "pi_1",
        "partially_refunded",
        Decimal("4.00"),
        2,
    )
    assert (second.transaction_id, second.amount, second.event_count) == (
        "pi_2",
        Decimal("5.00"),
        1,
    )
    assert [t.transaction_id for t in recent_transactions(store, 1)] == ["pi_1"]


# -- transactions (every store) ----------------------------------------------------------------


def test_each_stored_event_is_applied_once_to_its_transaction(event_store: EventStore) -> None:
    capture = make_event("evt_1", amount=Decimal("10.00"))
    refund = make_event("evt_2", status="refunded", amount=Decimal("10.00"))
    assert event_store.insert_all([capture, refund, refund]) == [True, True, False]
    assert event_store.insert_all([refund]) == [False]
    state = event_store.transaction("stripe", "pi_1")
    assert state is not None
    assert (state.status, state.refunded, state.version) == ("refunded", Decimal("10.00"), 2)
    assert event_store.transaction("generic", "pi_1") is None
    updates = {e.event_id: e.transaction for e in event_store.timeline(None, "pi_1")}
    assert updates["evt_2"] is not None
    assert (updates["evt_2"].previous_status, updates["evt_2"].status) == (
        "succeeded",
        "refunded",
    )


# Many examples through code other tests cover: run untraced (the coverage floor holds without).
@pytest.mark.untraced
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(max_events=6), data=st.data())
def test_any_delivery_order_with_redeliveries_ends_in_the_in_order_state(
    event_store: EventStore, history: list[PaymentEvent], data: st.DataObject
) -> None:
    run = uuid.uuid4().hex  # one store serves every example: fresh ids for each
    transaction = f"pi_{run}"
    history = [
        replace(e, transaction_id=transaction, event_id=f"{e.event_id}_{run}") for e in history
    ]
    for arrival in data.draw(deliveries(history)):
        event_store.insert_all([arrival])
    state = event_store.transaction("stripe", transaction)
    assert state is not None
    expected = replay(history)
    assert expected.state is not None
    assert final(state) == final(expected.state)
    assert state.event_count == len(history)
    # Each refund and capture is a record of its own, as in-order delivery left it.
    stored = {(m.kind, m.movement_id): m for m in event_store.movements("stripe", transaction)}  # type: ignore[attr-defined]
    assert stored == expected.movements
    if state.refunds.total is None:  # no running total: refunded is the live refunds' sum
        assert state.refunded == expected.live_refunds()


# -- Journal (the stores reconciled into) ------------------------------------------------------


def _report(provider: str, since: datetime, until: datetime, *outcomes: Listing) -> Report:
    listings = [Listed(f"evt_{n}", since, outcome) for n, outcome in enumerate(outcomes)]
    return Report(provider, Window(since, until), listings=listings)


def test_a_provider_never_reconciled_has_no_mark(journal: ReconcileStore) -> None:
    assert journal.reconciled_until("stripe") is None


def test_a_claim_excludes_other_holders_until_it_expires(journal: ReconcileStore) -> None:
    assert journal.claim_reconciliation("stripe", "a", NOW)
    assert not journal.claim_reconciliation("stripe", "b", NOW + timedelta(minutes=1))
    assert journal.claim_reconciliation("square", "b", NOW)  # each provider has its own
    expired = NOW + timedelta(seconds=CLAIM_SECONDS)
    assert journal.claim_reconciliation("stripe", "b", expired)
    assert not journal.claim_reconciliation("stripe", "a", expired)


def test_a_holder_may_claim_again_and_release_lets_others_in(journal: ReconcileStore) -> None:
    assert journal.claim_reconciliation("stripe", "a", NOW)
    assert journal.claim_reconciliation("stripe", "a", NOW + timedelta(minutes=1))
    journal.release_reconciliation("stripe", "b")  # not b's: nothing changes
    assert not journal.claim_reconciliation("stripe", "b", NOW + timedelta(minutes=2))
    journal.release_reconciliation("stripe", "a")
    assert journal.claim_reconciliation("stripe", "b", NOW + timedelta(minutes=2))


def test_finishing_advances_the_mark_and_releases_the_claim(journal: ReconcileStore) -> None:
    since, until = NOW - timedelta(hours=1), NOW
    assert journal.claim_reconciliation("stripe", "a", NOW)
    report = _report("stripe", since, until, Listing.RECOVERED, Listing.ALREADY_STORED)
    journal.finish_reconciliation(report, "a", NOW)
    assert journal.reconciled_until("stripe") == until
    assert journal.reconciled_until("square") is None
    assert journal.claim_reconciliation("stripe", "b", NOW)


def test_a_window_that_leaves_a_gap_is_recorded_but_does_not_move_the_mark(
    journal: ReconcileStore,
) -> None:
    journal.claim_reconciliation("stripe", "a", NOW)
    journal.finish_reconciliation(_report("stripe", NOW - timedelta(days=3), NOW), "a", NOW)
    later = NOW + timedelta(days=2)
    journal.claim_reconciliation("stripe", "a", later)
    gap = _report("stripe", later - timedelta(hours=1), later)
    gap.advances_mark = False
    journal.finish_reconciliation(gap, "a", later)
    assert journal.reconciled_until("stripe") == NOW
    assert journal.claim_reconciliation("stripe", "b", later)  # released all the same


def test_the_mark_never_moves_back(journal: ReconcileStore) -> None:
    """Two runs finishing out of order keep the later window's end."""
    later, earlier = NOW, NOW - timedelta(hours=1)
    journal.claim_reconciliation("stripe", "a", NOW)
    journal.finish_reconciliation(_report("stripe", earlier - timedelta(hours=1), later), "a", NOW)
    journal.claim_reconciliation("stripe", "b", NOW)
    journal.finish_reconciliation(
        _report("stripe", earlier - timedelta(hours=2), earlier), "b", NOW
    )
    assert journal.reconciled_until("stripe") == later
    assert journal.claim_reconciliation("stripe", "c", NOW)  # b's finish released its claim


def test_a_released_claim_keeps_the_mark(journal: ReconcileStore) -> None:
    journal.claim_reconciliation("stripe", "a", NOW)
    journal.finish_reconciliation(_report("stripe", NOW - timedelta(hours=1), NOW), "a", NOW)
    journal.claim_reconciliation("stripe", "b", NOW + timedelta(minutes=15))
    journal.release_reconciliation("stripe", "b")
    assert journal.reconciled_until("stripe") == NOW


def test_finishing_does_not_release_another_holders_claim(journal: ReconcileStore) -> None:
    """A run whose claim expired and was taken over finishes without freeing the new claim."""
    journal.claim_reconciliation("stripe", "a", NOW)
    taken = NOW + timedelta(seconds=CLAIM_SECONDS)
    assert journal.claim_reconciliation("stripe", "b", taken)
    journal.finish_reconciliation(_report("stripe", NOW - timedelta(hours=1), NOW), "a", taken)
    assert journal.reconciled_until("stripe") == NOW
    assert not journal.claim_reconciliation("stripe", "c", taken)


def test_recovered_events_are_stored_through_the_stores_one_write(
    journal: ReconcileStore,
) -> None:
    """A recovered event and its live delivery race to the same conditional write: one wins."""
    recovered = replace(make_event(), arrival=Arrival.RECONCILIATION)
    assert journal.insert_all([recovered]) == [True]
    assert journal.insert_all([make_event()]) == [False]
    stored = journal.get_event("stripe", "evt_1")
    assert stored is not None
    assert stored.arrival == Arrival.RECONCILIATION


# -- DeliveryCounts --------------------------------------------------------------------------


def test_delivery_counts_add_up_by_provider_and_bucket(store: LocalStore) -> None:
    assert store.delivery_histories(0) == []
    store.add_deliveries({("stripe", 100): 2, ("square", 101): 1})
    store.add_deliveries({("stripe", 100): 3, ("stripe", 105): 1})
    store.add_deliveries({})
    found = {h.provider: h for h in store.delivery_histories(0)}
    assert sorted(found) == ["square", "stripe"]
    assert [found["stripe"].total(100, 101), found["stripe"].total(0, 10**9)] == [5, 6]
    assert (found["stripe"].since, found["square"].since) == (100, 101)
    later = {h.provider: h for h in store.delivery_histories(101)}
    assert later["stripe"].total(0, 10**9) == 1


def test_delivery_counts_older_than_kept_are_forgotten_but_not_when_counting_began(
    store: LocalStore,
) -> None:
    store.add_deliveries({("stripe", 1000): 4, ("adyen", 1000): 2})
    store.add_deliveries({("stripe", 1000 + KEEP_BUCKETS + 1): 1})
    found = {h.provider: h for h in store.delivery_histories(0)}
    assert found["stripe"].total(0, 10**9) == 1
    assert found["adyen"].total(0, 10**9) == 0
    assert (found["stripe"].since, found["adyen"].since) == (1000, 1000)


def test_backlogs_count_each_sinks_pending_entries_from_the_oldest_received(
    store: LocalStore,
) -> None:
    """What ``/healthz`` reads to tell a sink that is behind: every entry still in the outbox,
    due or waiting for its retry, and the oldest event's reception."""
    store.register_sinks(["file", "http"])
    assert store.backlogs() == {}
    old = NOW - timedelta(minutes=10)
    store.insert_all([make_event("evt_old", received_at=old), make_event("evt_new")])
    assert store.backlogs() == {"file": Backlog(2, 0, old), "http": Backlog(2, 0, old)}
    store.complete_deliveries("file", ["stripe:evt_old", "stripe:evt_new"], NOW)
    store.fail_delivery("http", "stripe:evt_new", "down", at=NOW, retry_at=NOW + timedelta(hours=1))
    assert store.backlogs() == {"http": Backlog(2, 0, old)}
    store.fail_delivery("http", "stripe:evt_old", "down", at=NOW, retry_at=None)  # dead
    # A dead letter is still undelivered: a sink that is down is no less behind for it.
    assert store.backlogs() == {"http": Backlog(1, 1, old)}
    store.complete_deliveries("http", ["stripe:evt_new"], NOW)
    assert store.backlogs() == {"http": Backlog(0, 1, old)}
    store.redrive(None, NOW)
    store.complete_deliveries("http", ["stripe:evt_old"], NOW)
    assert store.backlogs() == {}
