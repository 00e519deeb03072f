"""Where the local processor publishes events: a JSON Lines file, HTTP subscribers.

Each is a :class:`~webhook_processor.publishing.base.Sink`.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the subscriber's answer, not a delivery: urllib would follow it with a
    body-less GET and report the final 200 as success."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpSink(Sink):
    """POSTs each envelope as JSON; a 2xx is success, anything else (3xx too) is retried later.

    When the subscriber cannot be reached or does not answer in time, the rest of the batch is
    not attempted: its lane would otherwise wait out a timeout per event.
    """

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"subscriber URL must be http:// or https://, got {url!r}")
        self.url = url
        self.name = f"http:{url}"
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def publish_batch(self, events: Sequence[PaymentEvent]) -> dict[str, str]:
        failed: dict[str, str] = {}
        for index, event in enumerate(events):
            try:
                self._post(event)
            except urllib.error.HTTPError as exc:
                failed[event.key] = f"{self.url} answered {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                reason = f"{self.url} unreachable: {getattr(exc, 'reason', exc)}"
                failed.update(dict.fromkeys((e.key for e in events[index:]), reason))
                break
        return failed

    def _post(self, event: PaymentEvent) -> None:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url,
            data=encode(event),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "webhook-processor"},
        )
        with self._opener.open(request, timeout=self._timeout) as response:
            response.read()
