"""One outbound HTTP exchange, bounded in time and in bytes: what every call the processor
makes to someone else's server is made of (the providers' APIs, local subscribers).

A socket timeout bounds one read, never the exchange: a peer that trickles a byte a second
keeps every read inside any timeout and holds the exchange as long as it likes. urllib3 says as
much of its own timeouts and advises a watcher thread; httpx's are per operation too. So here a
timer shuts the socket when the exchange's time is up: connect, send, status, headers and body
together, every address of the name included (name resolution excepted: ``getaddrinfo``
cannot be interrupted). The answer's body is read up to a bound and the rest is left unread,
whatever the peer says its length is: the socket itself gives the answer no more bytes than
the bound and its head.

Written on the standard library's ``http.client`` (the Lambda artifact stays small, and no
library offers a whole-exchange deadline); redirects are never followed.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import http.client
import io
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The most of a subscriber's answer that is read: enough for any acknowledgement.
ANSWER_BYTES = 64 * 1024
#: What the status line, the headers and the body's framing may take besides the body.
HEAD_BYTES = 64 * 1024


class Cut(enum.StrEnum):
    """Why a body that was read is not the whole body."""

    LONG = "longer than the limit: the rest was not read"
    LATE = "the rest did not arrive in time"
    SHORT = "the peer stopped before the body's end"


@dataclass(frozen=True, slots=True)
class Answer:
    """A status line and headers that arrived in time, and what was read of the body."""

    status: int
    #: At most the exchange's ``limit`` bytes of the body.
    body: bytes
    #: Why ``body`` is not the whole body, or None when it is.
    cut: Cut | None = None


def check_url(url: str) -> str:
    """``url`` if an exchange can be made with it, else ValueError saying why: ``http://`` or
    ``https://``, a host whose every label IDNA can encode, a valid port, and nothing but
    printable ASCII (percent-encode the rest). Credentials in it are sent as Basic auth."""
    if not url.isascii() or not url.isprintable() or " " in url:
        raise ValueError(
            f"{shown(url)!r} must be printable ASCII with no spaces (percent-encode the rest)"
        )
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{shown(url)!r} is not an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
        parts.hostname.encode("idna")
    except (ValueError, UnicodeError):
        raise ValueError(f"{shown(url)!r} has a host or port that cannot be reached") from None
    return url


def shown(url: str) -> str:
    """``url`` as logs and errors show it: its credentials and its query masked."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "?***" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


class NoAnswer(OSError):
    """The status line and headers did not arrive within the exchange's time."""


def exchange(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None = None,
    *,
    seconds: float,
    limit: int = ANSWER_BYTES,
    read_seconds: float | None = None,
) -> Answer:
    """Send one request to an ``http://`` or ``https://`` URL and read its answer, all within
    ``seconds``; each socket operation also within ``read_seconds`` (default ``seconds``).

    Raises :class:`NoAnswer` when no status line and headers came in time, another
    :class:`OSError` or :class:`http.client.HTTPException` when the peer could not be reached
    or answered what is not HTTP. Once the status is in, the answer is returned: a body longer
    than ``limit``, or cut off by the deadline or the peer, is returned as far as it was read,
    with ``cut`` saying why.
    """
    parsed = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    connection = kind(
        parsed.hostname or "", parsed.port, timeout=min(read_seconds or seconds, seconds)
    )
    if parsed.username is not None:
        user = urllib.parse.unquote(parsed.username)
        password = urllib.parse.unquote(parsed.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {token}", **headers}
    # Every address a name resolves to is tried within the one deadline, not each in its own.
    deadline = time.monotonic() + seconds
    connection._create_connection = _connector(deadline)  # type: ignore[attr-defined]
    # Whatever http.client's parsing makes of the answer (a chunk size of -1 reads to the end
    # of the stream), no more than this is ever read from the socket.
    connection.response_class = _budgeted(limit + 1 + HEAD_BYTES)
    expired = threading.Event()
    # The connection lets go of its socket once the answer's headers say it will close; the
    # answer keeps reading from it, so the watchdog holds it from the start.
    opened: list[socket.socket] = []

    def expire() -> None:
        expired.set()
        for sock in opened:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(seconds, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            connection.connect()
            if connection.sock is not None:
                opened.append(connection.sock)
            if expired.is_set():  # out of time while connecting, before it could be shut
                raise TimeoutError
            target = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
            connection.request(method, target, body=body, headers=headers)
            answer = connection.getresponse()
            if expired.is_set():  # the socket was shut mid-headers: they may be cut short
                raise TimeoutError
        except (OSError, http.client.HTTPException) as exc:
            # The connector keeps the same deadline as the watchdog and may give up first.
            if expired.is_set() or time.monotonic() >= deadline:
                raise NoAnswer(f"no answer within {seconds:g} s") from exc
            raise
        content, cut = _read(answer, limit)
        return Answer(answer.status, content, Cut.LATE if expired.is_set() else cut)
    finally:
        watchdog.cancel()
        connection.close()  # whatever the peer still sends is never read


def _read(answer: http.client.HTTPResponse, limit: int) -> tuple[bytes, Cut | None]:
    """At most ``limit`` bytes of the body, and why that is not all of it (None if it is)."""
    try:
        content = answer.read(limit + 1)
    except http.client.IncompleteRead as exc:
        return exc.partial[:limit], Cut.SHORT
    except (OSError, http.client.HTTPException, ValueError):
        return b"", Cut.SHORT
    if len(content) > limit:
        return content[:limit], Cut.LONG
    if answer.length:  # a declared length not reached: the peer stopped sending
        return content, Cut.SHORT
    return content, None


def _connector(deadline: float) -> Callable[..., socket.socket]:
    """``socket.create_connection`` with one deadline for all the addresses a name has (it
    gives each its own timeout: three unanswering addresses would take three deadlines)."""

    def connect(
        address: tuple[str, int], timeout: float, source_address: Any = None
    ) -> socket.socket:
        host, port = address
        failure: OSError = TimeoutError("no address answered in time")
        for family, kind, proto, _, target in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(min(timeout, left))
                if source_address:
                    sock.bind(source_address)
                sock.connect(target)
            except OSError as exc:
                failure = exc
                sock.close()
                continue
            return sock
        raise failure

    return connect


def _budgeted(budget: int) -> type[http.client.HTTPResponse]:
    """An answer that reads at most ``budget`` bytes from its socket, then sees its end."""

    class Budgeted(http.client.HTTPResponse):
        def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
            super().__init__(_Reading(sock, budget), *args, **kwargs)  # type: ignore[arg-type]

    return Budgeted


class _Reading:
    """The socket as an answer sees it: ``HTTPResponse`` only asks it for a file to read."""

    def __init__(self, sock: socket.socket, budget: int) -> None:
        self._sock, self._budget = sock, budget

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        # The socket's own unbuffered file, so the socket stays open while the answer reads
        # (http.client closes the connection's handle once the headers say it will close).
        return io.BufferedReader(_Budget(self._sock.makefile("rb", buffering=0), self._budget))


class _Budget(io.RawIOBase):
    def __init__(self, raw: Any, budget: int) -> None:
        super().__init__()
        self._raw, self._left = raw, budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        if self._left <= 0:
            return 0  # the budget is spent: to the answer, the stream has ended
        received: int | None = self._raw.readinto(memoryview(buffer)[: self._left])
        self._left -= received or 0
        return received

    def close(self) -> None:
        self._raw.close()
        super().close()
