"""One outbound exchange, bounded in time and bytes; the subscriber sink's reasons on top of it.

A raw socket server on loopback answers each test as it says; nothing waits longer than a
fraction of a second beyond the deadline under test.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.builders import make_event
from tests.support.stores import dead_letters
from webhook_processor.exchange import Cut, NoAnswer, check_url, exchange
from webhook_processor.local.dispatcher import Dispatcher
from webhook_processor.local.sinks import HttpSink
from webhook_processor.storage.memory import MemoryStore

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
                # The whole request, body too: a socket closed with bytes unread sends a reset,
                # which can overtake the answer and empty the client's buffer before it reads.
                head, _, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                while length and len(body) < int(length.group(1)):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    body += chunk
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


def test_a_negative_chunk_size_reads_no_more_than_the_budget(
    peer: Callable[[Answerer], str],
) -> None:
    """http.client reads a chunk of size -1 to the end of the stream: the socket's budget is
    what bounds it (an endless stream would otherwise be read into memory until the deadline)."""

    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n")
        for _ in range(20_000):  # 1.3 GB at most, were it all read
            conn.sendall(b"z" * 65536)

    started = time.monotonic()
    answer = exchange("POST", peer(endless), {}, b"{}", seconds=10, limit=1000)
    assert answer.status == 200
    assert answer.cut is not None
    assert len(answer.body) <= 1000
    assert time.monotonic() - started < 5  # ended by the budget, not the deadline


def test_a_status_line_in_time_with_headers_trickled_past_the_deadline_is_no_answer(
    peer: Callable[[Answerer], str],
) -> None:
    url = peer(trickle(b"X-Slow: 1\r\n\r\n", seconds=0.2, then=b"HTTP/1.1 200 OK\r\n"))
    with pytest.raises(NoAnswer):
        exchange("POST", url, {}, b"{}", seconds=0.5, read_seconds=5)


@contextlib.contextmanager
def _unanswering_port() -> Iterator[int]:
    """A loopback port whose accept queue is full: a connection to it never completes."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the accept queue: further connections hang (SYNs dropped)
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_every_address_of_a_name_is_tried_within_the_one_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three addresses that never complete a connection cost one deadline, not three."""
    with _unanswering_port() as port:
        target = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
        monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: [target] * 3)
        started = time.monotonic()
        with pytest.raises(NoAnswer):
            exchange("POST", f"http://many.example:{port}/hook", {}, b"{}", seconds=0.6)
    assert time.monotonic() - started < 1.2


def test_a_connection_given_up_at_the_deadline_is_no_answer_though_the_watchdog_is_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connector and the watchdog share one deadline; on a busy machine the connector
    can reach it first, and what it raises is still the deadline's ``NoAnswer``."""

    class Late(threading.Timer):
        def __init__(self, seconds: float, function: Callable[[], None]) -> None:
            super().__init__(seconds + 5, function)

    monkeypatch.setattr("webhook_processor.exchange.threading.Timer", Late)
    with _unanswering_port() as port, pytest.raises(NoAnswer):
        exchange("POST", f"http://127.0.0.1:{port}/hook", {}, b"{}", seconds=0.3)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example/hook", "is not an http:// or https:// URL"),
        ("http://", "is not an http:// or https:// URL"),
        ("http://127.0.0.1:1/\u00e9", "printable ASCII with no spaces"),
        ("http://127.0.0.1:1/a b", "printable ASCII with no spaces"),
        ("http://127.0.0.1:1/\x1b[31m", "printable ASCII with no spaces"),
        (f"http://{'a' * 64}.example/hook", "host or port that cannot be reached"),
        ("http://127.0.0.1:99999/hook", "host or port that cannot be reached"),
    ],
)
def test_a_url_no_exchange_can_be_made_with_is_refused_up_front(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        check_url(url)
    with pytest.raises(ValueError, match="subscriber URL"):
        HttpSink(url)


def test_credentials_in_a_subscriber_url_are_sent_as_basic_auth_and_never_shown(
    peer: Callable[[Answerer], str], caplog: pytest.LogCaptureFixture
) -> None:
    def answer(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")

    url = peer(answer).replace("http://", "http://us%40er:p%3Ass@") + "?token=abc"
    sink = HttpSink(url, deadline=2)
    host = url.split("@")[1].split("/")[0]
    assert sink.shown == f"http:http://***@{host}/hook?***"
    store = MemoryStore()
    store.insert_all([make_event()])
    with caplog.at_level(logging.INFO):
        Dispatcher(store, [sink], max_attempts=1).run_once()
    [letter] = dead_letters(store)
    assert "answered 401" in letter.last_error
    assert "answered 401" in caplog.text
    for secret in ("p%3Ass", "token=abc"):
        assert secret not in letter.last_error
        assert secret not in caplog.text


def test_the_basic_auth_header_carries_the_urls_credentials_decoded() -> None:
    """What a server behind Basic auth sees, read off the wire."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            seen.append(data)
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    answer = exchange("POST", f"http://us%40er:p%3Ass@127.0.0.1:{port}/hook", {}, b"{}", seconds=2)
    thread.join()
    listener.close()
    assert answer.status == 204
    expected = base64.b64encode(b"us@er:p:ss")
    assert b"Authorization: Basic " + expected in seen[0]
    assert b"us%40er" not in seen[0].split(b"\r\n")[0]  # not in the request line either
