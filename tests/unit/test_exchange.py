"""One outbound exchange, bounded in time and bytes; the subscriber sink's reasons on top of it.

A raw socket server on loopback answers each test as it says; nothing waits longer than a
fraction of a second beyond the deadline under test.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.builders import make_event
from webhook_processor.exchange import Cut, NoAnswer, exchange
from webhook_processor.local.sinks import HttpSink

Answerer = Callable[[socket.socket], None]


@pytest.fixture
def peer() -> Iterator[Callable[[Answerer], str]]:
    """Serve every connection with the answerer given; its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    answerer: list[Answerer] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                with contextlib.suppress(OSError):  # the client closed, as a bounded one does
                    answerer[0](conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def use(answer: Answerer) -> str:
        answerer[:] = [answer]
        return f"http://127.0.0.1:{listener.getsockname()[1]}/hook"

    yield use
    stop.set()
    thread.join()
    listener.close()


def trickle(text: bytes, seconds: float = 0.1, then: bytes = b"") -> Answerer:
    def answer(conn: socket.socket) -> None:
        conn.sendall(then)
        for index in range(len(text)):
            conn.sendall(text[index : index + 1])
            time.sleep(seconds)

    return answer


def test_an_answer_is_read_whole_when_it_is_small(peer: Callable[[Answerer], str]) -> None:
    url = peer(lambda conn: conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"))
    assert exchange("POST", url, {}, b"{}", seconds=2).status == 201
    answer = exchange("POST", url, {}, b"{}", seconds=2)
    assert (answer.body, answer.cut) == (b"ok", None)


def test_an_answer_longer_than_the_limit_is_cut_there_and_the_rest_left_unread(
    peer: Callable[[Answerer], str],
) -> None:
    def huge(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\n")
        for _ in range(1000):  # 64 MiB at most, of the 2 GiB announced
            conn.sendall(b"\0" * 65536)

    answer = exchange("POST", peer(huge), {}, b"{}", seconds=5, limit=1000)
    assert (answer.status, len(answer.body), answer.cut) == (200, 1000, Cut.LONG)


def test_headers_trickled_past_the_deadline_are_no_answer(peer: Callable[[Answerer], str]) -> None:
    url = peer(trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    started = time.monotonic()
    with pytest.raises(NoAnswer, match=r"no answer within 0\.5 s"):
        # Each byte comes well inside the per-read timeout: only the deadline ends it.
        exchange("POST", url, {}, b"{}", seconds=0.5, read_seconds=5)
    assert time.monotonic() - started < 1.5


def test_a_body_trickled_past_the_deadline_is_returned_as_far_as_it_came(
    peer: Callable[[Answerer], str],
) -> None:
    url = peer(trickle(b"y" * 100, then=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"))
    started = time.monotonic()
    answer = exchange("POST", url, {}, b"{}", seconds=0.5, read_seconds=5)
    assert (answer.status, answer.cut) == (200, Cut.LATE)
    assert len(answer.body) < 100
    assert time.monotonic() - started < 1.5


def test_a_body_the_peer_stops_short_of_its_length_is_cut_short(
    peer: Callable[[Answerer], str],
) -> None:
    url = peer(lambda conn: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
    answer = exchange("POST", url, {}, b"{}", seconds=2)
    assert (answer.status, answer.body, answer.cut) == (200, b"abc", Cut.SHORT)


def test_a_peer_that_answers_what_is_not_http_raises(peer: Callable[[Answerer], str]) -> None:
    url = peer(lambda conn: conn.sendall(b"SMTP ready\r\n\r\n"))
    with pytest.raises(http.client.BadStatusLine):
        exchange("POST", url, {}, b"{}", seconds=2)


# -- the subscriber sink ------------------------------------------------------------------------


def test_a_subscriber_that_does_not_begin_to_answer_in_time_fails_the_rest_of_the_batch(
    peer: Callable[[Answerer], str],
) -> None:
    url = peer(trickle(b"HTTP/1.1 200 OK\r\n\r\n", seconds=0.2))
    events = [make_event("evt_1"), make_event("evt_2")]
    started = time.monotonic()
    failed = HttpSink(url, deadline=0.5).publish_batch(events)
    assert failed == dict.fromkeys(
        ["stripe:evt_1", "stripe:evt_2"], f"{url} did not answer within 0.5 s"
    )
    assert time.monotonic() - started < 1.5  # one deadline, not one per event


def test_a_2xx_with_an_endless_body_is_a_delivery(peer: Callable[[Answerer], str]) -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(10_000):
            conn.sendall(b"1000\r\n" + b"x" * 4096 + b"\r\n")

    assert HttpSink(peer(endless), deadline=2).publish_batch([make_event()]) == {}


def test_what_an_unreachable_subscriber_raised_is_printable_in_its_reason(
    peer: Callable[[Answerer], str],
) -> None:
    url = peer(lambda conn: conn.sendall(b"HTTP/1.1 2\x1b[31m00 forged\r\n\r\n"))
    [reason] = HttpSink(url, deadline=2).publish_batch([make_event()]).values()
    assert reason.startswith(f"{url} unreachable: ")
    assert reason.isprintable()


def test_a_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        HttpSink("http://127.0.0.1:9/hook", deadline=0)


def test_a_chunked_body_the_peer_abandons_is_cut_short_with_what_came(
    peer: Callable[[Answerer], str],
) -> None:
    url = peer(
        lambda conn: conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc")
    )
    answer = exchange("GET", url, {}, seconds=2)
    assert (answer.status, answer.cut) == (200, Cut.SHORT)
    assert answer.body in (b"", b"abc")


def test_a_page_of_a_providers_api_is_only_of_use_whole(peer: Callable[[Answerer], str]) -> None:
    from webhook_processor.reconcile.transport import http_transport

    url = peer(lambda conn: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"))
    with pytest.raises(http.client.HTTPException, match="its answer was cut short"):
        http_transport()("GET", url, {}, None)
    late = peer(trickle(b"{}" * 50, then=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match=r"took more than 0\.3 s"):
        http_transport(timeout=5, request_seconds=0.3)("GET", late, {}, None)
