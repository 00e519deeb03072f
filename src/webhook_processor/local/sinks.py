"""Where the local processor publishes events: a JSON Lines file, HTTP subscribers.

Each is a :class:`~webhook_processor.publishing.base.Sink`.
"""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from webhook_processor.errors import truncate
from webhook_processor.exchange import NoAnswer, check_url, exchange, shown
from webhook_processor.model import PaymentEvent
from webhook_processor.publishing.base import Sink
from webhook_processor.publishing.envelope import encode


class JsonLinesSink(Sink):
    """Appends one envelope per line; one write and one fsync per batch, before success.

    The file only ever holds whole lines: a write that fails part-way (a full disk) is cut
    back before the failure is reported, and a partial last line left by a crash is cut off
    before the next append (its events were not recorded as delivered, so they come again).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path}"
        self._lock = threading.Lock()
        self._created = False

    def publish_batch(self, events: Sequence[PaymentEvent]) -> dict[str, str]:
        lines = b"".join(encode(event) + b"\n" for event in events)
        try:
            with self._lock:
                if not self._created:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._created = True
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    _append_whole(fd, lines)
                finally:
                    os.close(fd)
        except OSError as exc:
            reason = f"cannot append to {self.path}: {exc.strerror}"
            return dict.fromkeys((event.key for event in events), reason)
        return {}


def _append_whole(fd: int, lines: bytes) -> None:
    """Append ``lines`` and fsync, or leave the file as it was and raise."""
    start = _whole_lines_end(fd)
    try:
        written = 0
        while written < len(lines):
            written += os.write(fd, lines[written:])
        os.fsync(fd)
    except OSError:
        os.ftruncate(fd, start)
        raise


def _whole_lines_end(fd: int) -> int:
    """The size of the file without a partial last line, which is cut off."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - 4096)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        end = start + newline + 1 if newline >= 0 else start
        if newline >= 0:
            break
    os.ftruncate(fd, end)
    return end


#: Seconds one delivery to a subscriber may take in all: connect, send, answer.
DEFAULT_DELIVERY_SECONDS = 10.0

_HEADERS = {"Content-Type": "application/json", "User-Agent": "webhook-processor"}


class HttpSink(Sink):
    """POSTs each envelope as JSON; a 2xx is success, anything else (3xx too) is retried later.

    Each delivery is one :func:`~webhook_processor.exchange.exchange`: within ``deadline``
    seconds in all, at most :data:`~webhook_processor.exchange.ANSWER_BYTES` of the answer
    read. A 2xx is a delivery even if its body is endless or cut off (the status is the
    subscriber's word); an answer that does not begin in time is a failed attempt. When the
    subscriber cannot be reached or does not begin to answer in time, the rest of the batch is
    not attempted: its lane would otherwise wait out a deadline per event.
    """

    def __init__(self, url: str, deadline: float = DEFAULT_DELIVERY_SECONDS) -> None:
        try:
            self.url = check_url(url)
        except ValueError as exc:
            raise ValueError(f"subscriber URL {exc}") from None
        if not deadline > 0:
            raise ValueError(f"a delivery's deadline must be positive, got {deadline!r}")
        #: The outbox's name for it: the whole URL, so two that differ only in a token differ.
        self.name = f"http:{url}"
        #: What logs and errors call it: its credentials and query masked.
        self.shown = f"http:{shown(url)}"
        self._where = shown(url)
        self._deadline = deadline

    def publish_batch(self, events: Sequence[PaymentEvent]) -> dict[str, str]:
        failed: dict[str, str] = {}
        for index, event in enumerate(events):
            try:
                answer = exchange("POST", self.url, _HEADERS, encode(event), seconds=self._deadline)
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, NoAnswer):
                    reason = f"{self._where} did not answer within {self._deadline:g} s"
                else:
                    reason = f"{self._where} unreachable: {_why(exc)}"
                failed.update(dict.fromkeys((e.key for e in events[index:]), reason))
                break
            if not 200 <= answer.status < 300:
                failed[event.key] = f"{self._where} answered {answer.status}"
        return failed


def _why(exc: Exception) -> str:
    """An exception as a short reason: its own words where it has any (they may quote the
    peer: made printable, so they cannot forge a log line), else its kind."""
    text = str(exc) or type(exc).__name__
    return truncate("".join(c if c.isprintable() else "?" for c in text), 200)
