"""Delivery under faults: a row a sink raises on, redirects, a full disk, a hanging subscriber,
and a sink that comes back after its events were given up on."""

from __future__ import annotations

import errno
import http.server
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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
from webhook_processor.storage.base import Delivery
from webhook_processor.storage.memory import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class RaisingSink(MemorySink):
    """Raises, like an encoder meeting a value it cannot write, on every batch holding one key."""

    def __init__(self, poison: str) -> None:
        super().__init__("raising")
        self.poison = poison

    def publish_batch(self, events: Sequence[PaymentEvent]) -> dict[str, str]:
        if any(event.key == self.poison for event in events):
            raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
        return super().publish_batch(events)


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until true or ``timeout``: a bound, not a measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_row_a_sink_raises_on_is_retried_then_dead_lettered_and_the_rest_flow() -> None:
    clock = Clock()
    store, sink = MemoryStore(), RaisingSink("stripe:evt_2")
    dispatcher = Dispatcher(store, [sink], clock=clock, max_attempts=3, base_delay=1)
    store.insert_all([make_event(f"evt_{n}") for n in range(1, 4)])
    dispatcher.run_once()
    assert [e.event_id for e in sink.published] == ["evt_1", "evt_3"]
    for _ in range(3):
        clock.now += timedelta(seconds=10)
        dispatcher.run_once()
    [letter] = dead_letters(store)
    assert (letter.key, letter.attempts, letter.transient) == ("stripe:evt_2", 3, False)
    assert "ValueError: Exceeds the limit" in letter.last_error
    store.insert_all([make_event("evt_4")])
    dispatcher.run_once()
    assert [e.event_id for e in sink.published] == ["evt_1", "evt_3", "evt_4"]


def test_the_background_lane_survives_a_poison_row_and_keeps_publishing() -> None:
    store, sink = MemoryStore(), RaisingSink("stripe:evt_1")
    dispatcher = Dispatcher(store, [sink], poll_interval=0.01, base_delay=0.01, max_attempts=2)
    dispatcher.start()
    try:
        store.insert_all([make_event("evt_1")])
        dispatcher.wake()
        assert wait_for(lambda: dead_letters(store))
        store.insert_all([make_event("evt_2")])
        dispatcher.wake()
        assert wait_for(lambda: sink.published)
        assert dispatcher.running
    finally:
        dispatcher.stop()
    assert [e.event_id for e in sink.published] == ["evt_2"]
    assert not dispatcher.running


def test_a_lane_whose_store_fails_lives_on_and_delivers_once_it_recovers() -> None:
    class FlakyStore(MemoryStore):
        failures = 3

        def due(self, sink: str, now: datetime, limit: int) -> list:  # type: ignore[type-arg]
            if self.failures:
                self.failures -= 1
                raise RuntimeError("database is locked")
            return super().due(sink, now, limit)

    store, sink = FlakyStore(), MemorySink()
    dispatcher = Dispatcher(store, [sink], poll_interval=0.001)
    store.insert_all([make_event()])
    dispatcher.start()
    try:
        assert wait_for(lambda: sink.published)
        assert dispatcher.running
    finally:
        dispatcher.stop()


class _Subscriber(http.server.BaseHTTPRequestHandler):
    status = 200
    location = ""
    bodies: ClassVar[list[bytes]] = []
    gate: ClassVar[threading.Event]

    def do_POST(self) -> None:
        self.gate.wait(30)
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(self.status)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def subscriber() -> Iterator[tuple[str, type[_Subscriber]]]:
    gate = threading.Event()
    gate.set()
    handler = type("Handler", (_Subscriber,), {"bodies": [], "gate": gate})
    with serving(handler) as url:
        yield url, handler
        gate.set()  # a request still held must finish before the server can shut down


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_subscriber_answering_a_redirect_has_not_taken_the_event(
    subscriber: tuple[str, type[_Subscriber]], status: int
) -> None:
    url, handler = subscriber
    handler.status = status
    handler.location = url.replace("/hook", "/elsewhere")
    failed = HttpSink(url).publish_batch([make_event()])
    assert failed == {"stripe:evt_1": f"{url} answered {status}"}


def test_a_hanging_subscriber_does_not_hold_back_the_events_file(
    subscriber: tuple[str, type[_Subscriber]], tmp_path: Path
) -> None:
    url, handler = subscriber
    handler.gate.clear()  # the subscriber takes no request until the gate opens
    store, events_file = MemoryStore(), tmp_path / "events.jsonl"
    sinks = [JsonLinesSink(events_file), HttpSink(url, deadline=30)]
    dispatcher = Dispatcher(store, sinks, poll_interval=0.01)
    dispatcher.start()
    try:
        for n in range(3):
            store.insert_all([make_event(f"evt_{n}")])
            dispatcher.wake()
            assert wait_for(lambda n=n: len(_lines(events_file)) == n + 1), f"evt_{n} not in file"
        assert handler.bodies == []  # the subscriber still holds the first POST
    finally:
        handler.gate.set()
        assert wait_for(lambda: len(handler.bodies) == 3)
        dispatcher.stop()


def test_dead_letters_of_a_sink_outage_are_delivered_once_the_sink_recovers() -> None:
    clock = Clock()
    store, sink = MemoryStore(), MemorySink()
    dispatcher = Dispatcher(store, [sink], clock=clock, max_attempts=2, base_delay=1)
    store.insert_all([make_event("evt_1")])
    sink.fail_next = 2
    dispatcher.run_once()
    clock.now += timedelta(seconds=5)
    dispatcher.run_once()
    assert [d.key for d in dead_letters(store)] == ["stripe:evt_1"]
    store.insert_all([make_event("evt_2")])  # the sink is back: evt_2 goes through
    dispatcher.run_once()
    dispatcher.run_once()
    assert dead_letters(store) == []
    assert sorted(e.event_id for e in sink.published) == ["evt_1", "evt_2"]
    assert {r.delivery for r in recent_events(store, 10)} == {Delivery.DELIVERED}


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_full_disk_mid_append_leaves_only_whole_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.jsonl"
    sink = JsonLinesSink(path)
    assert sink.publish_batch([make_event("evt_1")]) == {}
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if len(data) > 100:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", half_then_full)
    failed = sink.publish_batch([make_event("evt_2"), make_event("evt_3")])
    assert set(failed) == {"stripe:evt_2", "stripe:evt_3"}
    assert "No space left on device" in failed["stripe:evt_2"]
    monkeypatch.setattr(os, "write", real_write)
    assert sink.publish_batch([make_event("evt_2"), make_event("evt_3")]) == {}
    assert [line["event_id"] for line in _lines(path)] == ["evt_1", "evt_2", "evt_3"]


def test_a_partial_last_line_left_by_a_crash_is_cut_before_the_next_append(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    sink = JsonLinesSink(path)
    assert sink.publish_batch([make_event("evt_1")]) == {}
    with path.open("ab") as crashed:
        crashed.write(b'{"event_id": "evt_2", "transac')
    assert sink.publish_batch([make_event("evt_2")]) == {}
    assert [line["event_id"] for line in _lines(path)] == ["evt_1", "evt_2"]
