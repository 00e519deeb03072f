"""How the providers' APIs are reached: one exchange at a time, each bounded in bytes and in time.

Each bound below is one a reader can see; :mod:`webhook_processor.exchange` keeps them.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Final, Protocol

from webhook_processor.exchange import Cut, NoAnswer, exchange

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
    """The standard library's HTTP client, through :func:`~webhook_processor.exchange.exchange`:
    each answer read up to :data:`MAX_PAGE_BYTES`, each exchange (connect, send, headers,
    body) within ``request_seconds`` in all. A page is only of use whole: an answer cut short,
    by its size or by the time, is a failure of the API."""

    def send(method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        all_headers = {"Accept": "application/json", "User-Agent": "webhook-processor", **headers}
        try:
            answer = exchange(
                method,
                url,
                all_headers,
                body,
                seconds=request_seconds,
                limit=MAX_PAGE_BYTES,
                read_seconds=timeout,
            )
        except NoAnswer as exc:
            raise http.client.HTTPException(
                f"it took more than {request_seconds:g} s to answer"
            ) from exc
        if answer.cut is Cut.LONG:
            raise http.client.HTTPException(f"it answered more than {MAX_PAGE_BYTES} bytes")
        if answer.cut is Cut.LATE:
            raise http.client.HTTPException(f"it took more than {request_seconds:g} s to answer")
        if answer.cut is not None:
            raise http.client.HTTPException(f"its answer was cut short: {answer.cut}")
        return Response(answer.status, answer.body)

    return send
