"""One outbound HTTP exchange, bounded in time and in bytes: what every call the processor
makes to someone else's server is made of (the providers' APIs, local subscribers).

A socket timeout bounds one read, never the exchange: a peer that trickles a byte a second
keeps every read inside any timeout and holds the exchange as long as it likes. urllib3 says as
much of its own timeouts and advises a watcher thread; httpx's are per operation too. So here a
timer shuts the socket when the exchange's time is up: connect, send, status, headers and body
together (name resolution excepted: ``getaddrinfo`` cannot be interrupted). The answer's body
is read up to a bound and the rest is left unread, whatever the peer says its length is.

Written on the standard library's ``http.client`` (the Lambda artifact stays small, and no
library offers a whole-exchange deadline); redirects are never followed.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import socket
import threading
import urllib.parse
from dataclasses import dataclass

#: The most of a subscriber's answer that is read: enough for any acknowledgement.
ANSWER_BYTES = 64 * 1024


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
    connection = kind(parsed.netloc, timeout=min(read_seconds or seconds, seconds))
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
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
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
