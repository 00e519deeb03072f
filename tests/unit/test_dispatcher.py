"""The outbox dispatcher: at-least-once delivery, backoff, dead letters, redrive."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support.builders import NOW, make_event
from tests.support.loopback import serving
from tests.support.stores import dead_letters, recent_events
from webhook_processor.local.dispatcher import Dispatcher
from webhook_processor.local.sinks import HttpSink, JsonLinesSink
from webhook_processor.model import PaymentEvent
from webhook_processor.publishing.memory import MemorySink
from webhook_processor.storage.memory import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.completions: list[list[str]] = []

    def complete_deliveries(self, sink: str, keys: Sequence[str], at: datetime) -> None:
        self.completions.append(list(keys))
        super().complete_deliveries(sink, keys, at)


class CountingSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def publish_batch(self, events: Sequence[PaymentEvent]) -> dict[str, str]:
        self.batches.append(len(events))
        return super().publish_batch(events)


def test_a_batch_is_one_call_per_sink_and_one_store_transaction(clock: Clock) -> None:
    store, sink = CountingStore(), CountingSink()
    for n in range(5):
        store.insert_all([make_event(f"evt_{n}")])
    Dispatcher(store, [sink], clock=clock).run_once()
    assert sink.batches == [5]
    assert store.completions == [[f"stripe:evt_{n}" for n in range(5)]]


def test_stored_events_reach_every_sink(clock: Clock) -> None:
    store, a, b = MemoryStore(), MemorySink("a"), MemorySink("b")
    store.insert_all([make_event("evt_1")])
    store.insert_all([make_event("evt_2")])
    assert Dispatcher(store, [a, b], clock=clock).run_once() == 4  # one entry per sink
    assert (
        [e.event_id for e in a.published] == [e.event_id for e in b.published] == ["evt_1", "evt_2"]
    )
    assert store.due("a", clock.now + timedelta(days=1), 10) == []
    assert store.due("b", clock.now + timedelta(days=1), 10) == []


def test_failure_backs_off_and_does_not_resend_to_sinks_that_took_it(clock: Clock) -> None:
    store, good, flaky = MemoryStore(), MemorySink("good"), MemorySink("flaky")
    store.insert_all([make_event()])
    flaky.fail_next = 2
    dispatcher = Dispatcher(store, [good, flaky], clock=clock, base_delay=1.0)
    dispatcher.run_once()
    assert dispatcher.run_once() == 0  # not due yet: next attempt after 1 s
    clock.now += timedelta(seconds=1)
    dispatcher.run_once()  # second failure: next attempt after 2 s more
    clock.now += timedelta(seconds=1)
    assert dispatcher.run_once() == 0
    clock.now += timedelta(seconds=1)
    dispatcher.run_once()
    assert len(good.published) == 1
    assert len(flaky.published) == 1
    assert recent_events(store, 1)[0].delivery == "delivered"


def test_after_max_attempts_the_event_is_a_dead_letter_until_redriven(clock: Clock) -> None:
    store, sink = MemoryStore(), MemorySink()
    store.insert_all([make_event()])
    sink.fail_next = 3
    dispatcher = Dispatcher(store, [sink], clock=clock, max_attempts=3, base_delay=0)
    for _ in range(3):
        dispatcher.run_once()
    [letter] = dead_letters(store)
    assert (letter.sink, letter.attempts, letter.last_error) == (
        "memory",
        3,
        "memory: memory refused the event (fail_next)",
    )
    assert dispatcher.run_once() == 0
    store.redrive(None, clock.now)
    dispatcher.run_once()
    assert [e.event_id for e in sink.published] == ["evt_1"]
    assert dead_letters(store) == []


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Dispatcher(MemoryStore(), [], max_attempts=0)


def test_background_thread_delivers_after_wake(clock: Clock) -> None:
    store, sink = MemoryStore(), MemorySink()
    dispatcher = Dispatcher(store, [sink], clock=clock, poll_interval=30)
    dispatcher.start()
    try:
        store.insert_all([make_event()])
        dispatcher.wake()
        for _ in range(200):
            if sink.published:
                break
            threading.Event().wait(0.01)
    finally:
        dispatcher.stop()
    assert [e.event_id for e in sink.published] == ["evt_1"]


def test_json_lines_sink_appends_exact_envelopes(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "out" / "events.jsonl")
    assert sink.publish_batch([make_event("evt_1")]) == {}
    assert sink.publish_batch([make_event("evt_2"), make_event("evt_3")]) == {}
    lines = (tmp_path / "out" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == ["evt_1", "evt_2", "evt_3"]
    assert '"amount":19.99,' in lines[0]
    assert '"rate":0.125' in lines[0]


def test_json_lines_sink_reports_an_unwritable_path(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    failed = JsonLinesSink(tmp_path / "dir").publish_batch(
        [make_event("evt_1"), make_event("evt_2")]
    )
    assert set(failed) == {"stripe:evt_1", "stripe:evt_2"}
    assert "cannot append" in failed["stripe:evt_1"]


class _Subscriber(http.server.BaseHTTPRequestHandler):
    status = 200
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def subscriber() -> Iterator[tuple[str, type[_Subscriber]]]:
    handler = type("Handler", (_Subscriber,), {"bodies": [], "status": 200})
    with serving(handler) as url:
        yield url, handler


def test_http_sink_posts_the_envelope(subscriber: tuple[str, type[_Subscriber]]) -> None:
    url, handler = subscriber
    assert HttpSink(url).publish_batch([make_event()]) == {}
    [body] = handler.bodies
    assert json.loads(body)["data"]["amount"] == 19.99
    assert b'"amount":19.99,' in body


def test_http_sink_non_2xx_is_a_delivery_failure(subscriber: tuple[str, type[_Subscriber]]) -> None:
    url, handler = subscriber
    handler.status = 500
    events = [make_event("evt_1"), make_event("evt_2")]
    failed = HttpSink(url).publish_batch(events)
    assert failed == {e.key: f"{url} answered 500" for e in events}
    assert len(handler.bodies) == 2  # an answer, even a 500, does not stop the batch


def test_http_sink_unreachable_is_a_delivery_failure() -> None:
    events = [make_event("evt_1"), make_event("evt_2"), make_event("evt_3")]
    failed = HttpSink("http://127.0.0.1:9/none", deadline=2).publish_batch(events)
    assert set(failed) == {e.key for e in events}  # the rest of the batch is not attempted
    assert "unreachable" in failed["stripe:evt_3"]


def test_http_sink_refuses_other_schemes() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        HttpSink("file:///etc/passwd")
