"""What a client can make the local server hold: request heads and read deadlines, and the
trailing-slash route."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.testclient import TestClient

from tests.support.builders import encode, generic_body, signed
from tests.support.loopback import post
from webhook_processor.local import http_limits
from webhook_processor.local.bootstrap import LocalProcessor
from webhook_processor.local.server import create_app


@pytest.fixture
def port(memory_processor: LocalProcessor, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The app on uvicorn with serve's options, in this process, with short read deadlines."""
    monkeypatch.setattr(http_limits, "HEAD_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(http_limits, "BODY_TIMEOUT_SECONDS", 0.5)
    config = uvicorn.Config(
        create_app(memory_processor, run_dispatcher=False),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        **http_limits.uvicorn_options(),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(10)


def exchange(port: int, *parts: bytes, pause: float = 0.0) -> bytes:
    """Send ``parts`` on one connection and read until the server closes it (10 s at most)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            for part in parts:
                conn.sendall(part)
                time.sleep(pause)
        except OSError:
            pass  # the server closed first; what it said is still in the receive buffer
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except ConnectionResetError:
            # Closed with our bytes unread, the kernel resets: the answer may be lost with them.
            return received or b"(reset)"
        return received


def test_a_head_larger_than_the_bound_is_431_and_closed(port: int) -> None:
    answer = exchange(
        port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
    )
    assert answer.startswith((b"HTTP/1.1 431 ", b"(reset)")), answer[:100]


def test_more_headers_than_the_bound_is_431_and_closed(port: int) -> None:
    headers = b"".join(b"X-%d: 1\r\n" % n for n in range(http_limits.MAX_HEADERS + 1))
    answer = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_a_body_shorter_than_its_content_length_is_not_waited_for(port: int) -> None:
    head = b"POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    assert exchange(port, head + b"{}") == b""  # closed at the deadline, nothing to answer


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    assert exchange(port) == b""


def test_a_trickled_head_is_closed_at_the_deadline(port: int) -> None:
    trickle = [bytes([byte]) for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1"]
    assert exchange(port, *trickle, pause=0.05) == b""


def test_a_request_within_the_bounds_is_answered(port: int) -> None:
    answer = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_trailing_slash_is_the_same_route_and_never_a_redirect(
    memory_processor: LocalProcessor,
) -> None:
    body, headers = signed("generic", encode(generic_body()))
    with TestClient(create_app(memory_processor, run_dispatcher=False)) as client:
        response = client.post(
            "/webhooks/generic/",
            content=body,
            headers={**headers, "Host": "attacker.example"},
            follow_redirects=False,
        )
        unknown = post(client, "other/path", body, headers)
    assert response.status_code == 200, response.headers
    assert "location" not in response.headers
    assert response.json()["status"] == "accepted"
    assert unknown.status_code == 404
