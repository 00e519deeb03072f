"""How the providers' APIs are reached: one exchange at a time, each bounded in bytes and in time.

Written on the standard library's HTTP client: the Lambda artifact stays small, and each bound
below is one a reader can see.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Final, Protocol

#: The most bytes one page may take: 100 events of a few kilobytes each, with a wide margin. A
#: larger answer is refused as a failure of the API rather than read into memory whole.
MAX_PAGE_BYTES: Final = 16 * 1024 * 1024
#: Seconds to connect, and between bytes of an answer.
TIMEOUT_SECONDS: Final = 30.0
#: Seconds one exchange may take in all: connect, send, headers and body.
REQUEST_SECONDS: Final = 60.0


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes


class Transport(Protocol):
    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> Response:
        """Send one request; raise OSError (or http.client.HTTPException) if no answer came."""
        ...


def http_transport(
    timeout: float = TIMEOUT_SECONDS, request_seconds: float = REQUEST_SECONDS
) -> Transport:
    """The standard library's HTTP client: each answer read up to :data:`MAX_PAGE_BYTES`, each
    exchange (connect, send, headers, body) within ``request_seconds`` in all. A socket timeout
    bounds one read only: an API that trickles a byte a second would hold a run for as long as
    it liked, so a timer shuts the socket when the exchange's time is up."""

    def send(method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        parsed = urllib.parse.urlsplit(url)
        connection_type = (
            http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_type(parsed.netloc, timeout=min(timeout, request_seconds))
        expired = threading.Event()
        # The connection lets go of its socket once the answer's headers say it will close;
        # the answer keeps reading from it, so the watchdog holds it from the start.
        opened: list[socket.socket] = []

        def expire() -> None:
            expired.set()
            for sock in opened:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(request_seconds, expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.connect()
            if connection.sock is not None:
                opened.append(connection.sock)
            if expired.is_set():  # out of time while connecting, before it could be shut
                raise TimeoutError
            target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            all_headers = {"Accept": "application/json", "User-Agent": "webhook-processor"}
            connection.request(method, target, body=body, headers={**all_headers, **headers})
            answer = connection.getresponse()
            content = answer.read(MAX_PAGE_BYTES + 1)
            if len(content) > MAX_PAGE_BYTES:
                raise http.client.HTTPException(f"it answered more than {MAX_PAGE_BYTES} bytes")
            if expired.is_set():
                raise TimeoutError
            return Response(answer.status, content)
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise http.client.HTTPException(
                    f"it took more than {request_seconds:g} s to answer"
                ) from exc
            raise
        finally:
            watchdog.cancel()
            connection.close()

    return send
