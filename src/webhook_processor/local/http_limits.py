"""What a connection may cost the local server before the app sees a request.

uvicorn's httptools protocol bounds none of these: it buffered a 128 MiB header (stalling the
event loop for seconds), took 100,000 headers, waited forever for a body shorter than its
``Content-Length``, and kept connections that never finished a request head. uvicorn bounds
only the idle time between requests (``timeout_keep_alive``) and, for its slower h11 protocol,
the size of a head. :class:`BoundedHttpToolsProtocol` adds, per request:

* the head (request line and headers) at most :data:`MAX_HEAD_BYTES`, at most
  :data:`MAX_HEADERS` headers (both answered 431 and closed);
* the head complete within :data:`HEAD_TIMEOUT_SECONDS` of the connection or of its first
  byte, the body within :data:`BODY_TIMEOUT_SECONDS` of the head (else the connection closes;
  the app sees a disconnect).

A subclass rather than a proxy in front: these checks sit on bytes the protocol already
handles, and cost a counter and a timer per request.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES: Final = 32 * 1024
MAX_HEADERS: Final = 100
HEAD_TIMEOUT_SECONDS: Final = 10.0
BODY_TIMEOUT_SECONDS: Final = 20.0
#: How long an idle keep-alive connection stays open between requests.
KEEP_ALIVE_SECONDS: Final = 5


class _HeadTooLarge(Exception):
    """Raised from a parser callback: httptools then stops and the request is refused."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded request heads and read deadlines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._header_count = 0
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEAD_TIMEOUT_SECONDS)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            room = MAX_HEAD_BYTES - self._head_bytes
            if len(data) > room:
                # Feed only what the head may hold; if that does not finish it, refuse.
                self._head_bytes = MAX_HEAD_BYTES
                super().data_received(data[:room])
                if self._in_head and not self.transport.is_closing():
                    self._refuse()
                if self.transport.is_closing():
                    return
                data = data[room:]
            else:
                self._head_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._header_count = 0
        if self._deadline is None:
            self._arm(HEAD_TIMEOUT_SECONDS)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > MAX_HEADERS:
            raise _HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._arm(BODY_TIMEOUT_SECONDS)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if self._header_count > MAX_HEADERS:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        """431, then close: the head is larger than this server reads."""
        self._disarm()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\ncontent-length: 33\r\n"
            b"connection: close\r\n\r\nrequest header fields too large\r\n"
        )
        self.transport.close()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """The options ``serve`` runs uvicorn with."""
    return {
        "http": BoundedHttpToolsProtocol,
        "loop": "uvloop",
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "server_header": False,
        "proxy_headers": False,  # addresses come from the socket; nothing reads forwarded ones
        "access_log": False,
    }
