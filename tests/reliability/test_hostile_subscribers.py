"""Hostile subscribers cost their own lane and nothing more: a real ``serve`` on loopback.

Each test starts ``serve`` with two subscribers, a hostile one and a well-behaved one, on a
raw socket server that answers as each mode says. Event A is posted, then event B a second
later. The hostile answers must not grow the server (RSS sampled throughout, at most 20 MiB
over its start) nor hold back the events file or the other subscriber (B reaches both at
once), and the hostile's events end delivered or dead-lettered with a reason, within bounds
set by the delivery deadline. Breaking :mod:`webhook_processor.exchange` back to reading the
whole answer, or to a per-read timeout, fails these tests.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server
from tests.support.builders import encode, generic_body, signed
from tests.support.loopback import post
from webhook_processor.local.bootstrap import LocalConfig, local_secrets, open_local_store

pytestmark = pytest.mark.slow

#: serve's deadline for one delivery, and the attempts before a dead letter (1 s apart).
DEADLINE = 2.0
ATTEMPTS = 2
#: How much the server may grow while the hostile answers come.
MAX_GROWTH_BYTES = 20 * 1024 * 1024
#: No hostile answer lasts longer than this, whatever the processor does (bounded tests).
HOSTILE_SECONDS = 20.0
#: 2 GiB: what the hostile "huge" answer says it is sending.
HUGE = 2 * 1024**3


def _send_all(conn: socket.socket, chunks: Iterator[bytes], pause: float = 0.0) -> None:
    """Send chunks until the client hangs up or the hostile time is spent."""
    end = time.monotonic() + HOSTILE_SECONDS
    try:
        for chunk in chunks:
            if time.monotonic() > end:
                return
            conn.sendall(chunk)
            if pause:
                time.sleep(pause)
    except OSError:
        return  # the processor closed the connection: what it should do


def _zeros(total: int) -> Iterator[bytes]:
    block = b"\0" * 65536
    sent = 0
    while sent < total:
        yield block
        sent += len(block)


def _chunks() -> Iterator[bytes]:
    while True:
        yield b"1000\r\n" + b"x" * 4096 + b"\r\n"


def _bytes(text: bytes) -> Iterator[bytes]:
    for index in range(len(text)):
        yield text[index : index + 1]


MODES: dict[str, Callable[[socket.socket], None]] = {
    "ok": lambda conn: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "huge": lambda conn: _send_all(
        conn, chain([f"HTTP/1.1 200 OK\r\nContent-Length: {HUGE}\r\n\r\n".encode()], _zeros(HUGE))
    ),
    # http.client reads a chunk of size -1 to the end of the stream: only the socket's budget
    # stops it.
    "negative-chunk": lambda conn: _send_all(
        conn,
        chain([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"], _zeros(HUGE)),
    ),
    "endless-200": lambda conn: _send_all(
        conn, chain([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"], _chunks())
    ),
    "endless-500": lambda conn: _send_all(
        conn, chain([b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"], _chunks())
    ),
    "trickled-body": lambda conn: _send_all(
        conn,
        iter([b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", *_bytes(b"y" * 100)]),
        pause=1.0,
    ),
    "trickled-headers": lambda conn: _send_all(
        conn, _bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), pause=1.0
    ),
}


@dataclass
class Subscribers:
    """The raw socket server: records when each event reached each path."""

    arrived: dict[tuple[str, str], float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(record: Subscribers) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            conn.settimeout(HOSTILE_SECONDS)
            data = b""
            while b"\r\n\r\n" not in data:
                piece = conn.recv(65536)
                if not piece:
                    return
                data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1].strip("/")
            length = next(
                int(line.split(":", 1)[1])
                for line in lines
                if line.lower().startswith("content-length")
            )
            while len(body) < length:
                body += conn.recv(65536)
            event_id = json.loads(body)["event_id"]
            with record.lock:
                record.arrived.setdefault((path, event_id), time.monotonic())
            MODES[path](conn)

    return Handler


@pytest.fixture
def subscribers() -> Iterator[tuple[str, Subscribers]]:
    record = Subscribers()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(record))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", record
    finally:
        server.shutdown()
        server.server_close()


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Sampler:
    """The largest RSS of a process, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, _rss(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, _rss(self.pid))
            except (OSError, AssertionError):
                return  # the process has ended (a failed test stops it): nothing to sample

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _post(server: Server, message_id: str) -> None:
    secret = local_secrets(LocalConfig(data_dir=server.data_dir)).active("generic")[0]
    body = encode(generic_body(transaction_id=f"txn_{message_id}"))
    body, headers = signed(
        "generic", body, at=datetime.now(UTC), message_id=message_id, secret=secret
    )
    with server.client() as http:
        assert post(http, "generic", body, headers).status_code == 200


def _in_file(server: Server, message_id: str) -> bool:
    path = server.data_dir / "events.jsonl"
    return path.exists() and f'"event_id":"{message_id}"' in path.read_text()


def _standing(server: Server, sink: str, keys: list[str]) -> dict[str, Any]:
    """Each key's state with ``sink``: ``delivered``, or its delivery (pending or dead)."""
    store = open_local_store(LocalConfig(data_dir=server.data_dir))
    try:
        found = store.deliveries(keys)
    finally:
        store.close()
    standing: dict[str, Any] = {}
    for key in keys:
        mine = [d for d in found.get(key, []) if d.sink == sink]
        standing[key] = "delivered" if not mine else mine[0]
    return standing


#: mode -> how the hostile's events must end, and the seconds they may take from A's post.
OUTCOMES = {
    "huge": ("delivered", 5.0),
    "endless-200": ("delivered", 5.0),
    "negative-chunk": ("delivered", 5.0),
    "trickled-body": ("delivered", 3 * DEADLINE + 5),
    "endless-500": ("answered 500", ATTEMPTS * 2 + 5.0),
    "trickled-headers": (f"did not answer within {DEADLINE:g} s", 2 * ATTEMPTS * DEADLINE + 8),
}


@pytest.mark.parametrize("mode", OUTCOMES)
def test_a_hostile_subscriber_costs_only_its_own_lane(
    mode: str,
    subscribers: tuple[str, Subscribers],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, record = subscribers
    hostile, good = f"{base}/{mode}", f"{base}/ok"
    server = Server(
        tmp_path,
        options=(
            *("--subscriber", hostile, "--subscriber", good),
            *("--delivery-timeout", str(DEADLINE), "--max-attempts", str(ATTEMPTS)),
            *("--stale-after", "1"),
        ),
    )
    server.start()
    try:
        assert server.process is not None
        sampler = Sampler(server.process.pid)
        start_rss = sampler.peak
        posted_a = time.monotonic()
        _post(server, "msg_a")
        time.sleep(1.0)
        posted_b = time.monotonic()
        _post(server, "msg_b")
        assert _wait(lambda: _in_file(server, "msg_b"), 5), "B never reached the events file"
        file_b = time.monotonic() - posted_b
        assert _wait(lambda: ("ok", "msg_b") in record.arrived, 5), "B never reached 'ok'"
        good_b = record.arrived[("ok", "msg_b")] - posted_b

        expected, within = OUTCOMES[mode]
        keys = ["generic:msg_a", "generic:msg_b"]
        sink = f"http:{hostile}"

        def settled() -> bool:
            return all(
                s == "delivered" or s.state == "dead"
                for s in _standing(server, sink, keys).values()
            )

        assert _wait(settled, within), f"{mode}: {_standing(server, sink, keys)}"
        took = time.monotonic() - posted_a
        peak = sampler.stop()
        for key, standing in _standing(server, sink, keys).items():
            if expected == "delivered":
                assert standing == "delivered", (key, standing)
            else:
                assert standing.state == "dead", (key, standing)
                assert expected in (standing.last_error or ""), (key, standing)
        growth = peak - start_rss
        with capsys.disabled():
            print(
                f"\n{mode}: RSS {start_rss / 2**20:.1f} MiB, peak +{growth / 2**20:.1f} MiB; "
                f"B in the file after {file_b * 1000:.0f} ms, at 'ok' after {good_b * 1000:.0f} ms; "
                f"the hostile's events {expected} {took:.1f} s after A"
            )
        assert growth <= MAX_GROWTH_BYTES
        assert file_b < 1.0
        assert good_b < 1.0
    finally:
        server.stop()


def test_a_lane_held_by_a_subscriber_is_reported_behind_by_healthz_and_status(
    subscribers: tuple[str, Subscribers], tmp_path: Path
) -> None:
    base, _ = subscribers
    server = Server(
        tmp_path,
        options=(
            *("--subscriber", f"{base}/trickled-headers"),
            *("--delivery-timeout", "10", "--stale-after", "1"),
        ),
    )
    server.start()
    try:
        with server.client() as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            _post(server, "msg_a")
            time.sleep(2.5)
            health = http.get("/healthz")
            assert health.status_code == 200  # still taking webhooks: not a reason for a 503
            assert health.json()["status"] == "degraded"
            assert "1 of the sinks is behind" in health.json()["detail"]
            assert "trickled" not in health.text  # /healthz answers anyone: no sink named
            status = http.get("/status")
            assert status.status_code == 503
            [lane] = [s for s in status.json()["sinks"] if s["stale"]]
            assert lane["pending"] == 1
            assert lane["oldest_undelivered_seconds"] >= 2
            assert lane["sink"].startswith("http:http://127.0.0.1:")
            assert [s["stale"] for s in status.json()["sinks"]].count(True) == 1  # the file is not
    finally:
        server.stop()
