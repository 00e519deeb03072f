"""Fault injection: the store fails, the subscriber fails (500, hang, redirect), the disk fills.

Each scenario runs the real local wiring (SQLite, the events file, an HTTP subscriber on
loopback, the dispatcher's lanes) while events are posted through the ASGI app and the fault
comes and goes. It ends when no outbox entry is pending, and then every acknowledged event is
in the events file exactly once, and with the subscriber (at least once) or dead-lettered with
its reason; nothing unacknowledged is published.
"""

from __future__ import annotations

import collections
import errno
import http.server
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from starlette.testclient import TestClient

from tests.conftest import ENVIRON
from tests.support.builders import encode, generic_body, signed
from tests.support.loopback import post, read_events_file, serving
from tests.support.stores import dead_letters, recent_events
from webhook_processor.errors import StorageUnavailable
from webhook_processor.local.bootstrap import LocalConfig, LocalProcessor, build_local
from webhook_processor.local.server import create_app
from webhook_processor.storage.base import Delivery

pytestmark = pytest.mark.slow

EVENTS = 40


class _Subscriber(http.server.BaseHTTPRequestHandler):
    #: What the subscriber does now: "ok", "500", "hang" or "redirect".
    mode: ClassVar[list[str]] = ["ok"]
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        mode = self.mode[0]
        if mode == "hang":
            time.sleep(0.6)  # longer than the sink's timeout
        status = {"ok": 200, "500": 500, "hang": 200, "redirect": 302}[mode]
        if status == 200:
            self.received.append(body)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def subscriber() -> Iterator[tuple[str, type[_Subscriber]]]:
    handler = type("Handler", (_Subscriber,), {"mode": ["ok"], "received": []})
    with serving(handler) as url:
        yield url, handler


@pytest.fixture
def processor(
    tmp_path: Path, subscriber: tuple[str, type[_Subscriber]]
) -> Iterator[LocalProcessor]:
    config = LocalConfig(
        data_dir=tmp_path,
        subscribers=(subscriber[0],),
        max_attempts=3,
        retry_base_delay=0.02,
        recovery_probe_seconds=0.2,
    )
    built = build_local(config, environ=ENVIRON)  # the real clock: retries come due
    for sink in built.dispatcher.sinks:
        if hasattr(sink, "_timeout"):
            sink._timeout = 0.3  # the hanging subscriber outlasts it
    yield built
    built.close()


def _run(
    processor: LocalProcessor, during: Callable[[int], None], received: list[bytes]
) -> list[str]:
    """Post EVENTS distinct events, calling ``during(n)`` before each, wait for the outbox to
    settle and check the outcome (before the app's shutdown closes the store); return the ids
    acknowledged."""
    acknowledged = []
    with TestClient(create_app(processor)) as client:
        for n in range(EVENTS):
            during(n)
            body, headers = signed(
                "generic",
                encode(generic_body(transaction_id=f"txn_{n}")),
                message_id=f"msg_{n}",
                at=datetime.now(UTC),
            )
            response = post(client, "generic", body, headers)
            assert response.status_code in (200, 503), response.text
            if response.status_code == 200:
                acknowledged.append(f"msg_{n}")
            time.sleep(0.01)
        _settle(processor)
        _check(processor, acknowledged, received)
    return acknowledged


def _settle(processor: LocalProcessor, timeout: float = 30.0) -> None:
    """Wait (bounded) until no outbox entry is pending: every event delivered or dead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = recent_events(processor.store, 10_000)
        if all(r.delivery is not Delivery.PENDING for r in records):
            return
        time.sleep(0.05)
    pytest.fail("the outbox did not settle in time")


def _check(processor: LocalProcessor, acknowledged: list[str], received: list[bytes]) -> None:
    in_file = collections.Counter(
        line["event_id"] for line in read_events_file(processor.config.events_path)
    )
    dead = {
        (d.key.removeprefix("generic:"), d.sink): d.last_error
        for d in dead_letters(processor.store)
    }
    file_sink, http_sink = (sink.name for sink in processor.dispatcher.sinks)
    for event_id in acknowledged:
        assert in_file[event_id] == 1 or dead.get((event_id, file_sink)), event_id
    assert set(in_file) <= set(acknowledged)
    got = {line.split(b'"event_id":"')[1].split(b'"')[0].decode() for line in received}
    for event_id in acknowledged:
        assert event_id in got or dead.get((event_id, http_sink)), event_id


def _between(
    first: int, last: int, on: Callable[[], None], off: Callable[[], None]
) -> Callable[[int], None]:
    def during(n: int) -> None:
        if n == first:
            on()
        elif n == last:
            off()

    return during


def test_store_failures_are_503s_and_every_acknowledged_event_is_published_once(
    processor: LocalProcessor, subscriber: tuple[str, type[_Subscriber]]
) -> None:
    calls = [0]
    insert = processor.store.insert_all_async

    async def every_third_fails(events: Any) -> list[bool]:
        calls[0] += 1
        if calls[0] % 3 == 0:
            raise StorageUnavailable("SQLite write failed: disk I/O error")
        return await insert(events)

    processor.store.insert_all_async = every_third_fails  # type: ignore[method-assign]
    acknowledged = _run(processor, lambda n: None, subscriber[1].received)
    assert 0 < len(acknowledged) < EVENTS


@pytest.mark.parametrize("fault", ["500", "hang", "redirect"])
def test_a_failing_subscriber_recovers_and_the_events_file_has_each_event_once(
    processor: LocalProcessor, subscriber: tuple[str, type[_Subscriber]], fault: str
) -> None:
    mode = subscriber[1].mode
    during = _between(5, 30, lambda: mode.__setitem__(0, fault), lambda: mode.__setitem__(0, "ok"))
    assert len(_run(processor, during, subscriber[1].received)) == EVENTS


def test_a_full_disk_that_clears_leaves_each_event_in_the_file_once(
    processor: LocalProcessor,
    subscriber: tuple[str, type[_Subscriber]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_write = os.write
    full = [False]

    def write(fd: int, data: bytes) -> int:
        if full[0]:
            if len(data) > 64:
                real_write(fd, data[: len(data) // 2])  # a part lands before the disk fills
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    during = _between(5, 30, lambda: full.__setitem__(0, True), lambda: full.__setitem__(0, False))
    assert len(_run(processor, during, subscriber[1].received)) == EVENTS
