"""Where the local processor publishes events: a JSON Lines file, HTTP subscribers, memory.

A sink raises :class:`~webhook_processor.errors.DeliveryFailed` when it did not take an event;
the outbox dispatcher retries it later. Each sink has a stable ``name`` so the outbox remembers
which sinks already took an event and does not send it to them again.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from webhook_processor.errors import DeliveryFailed
from webhook_processor.model import PaymentEvent
from webhook_processor.publishing.envelope import encode


class Sink(Protocol):
    name: str

    def publish(self, event: PaymentEvent) -> None:
        """Deliver one event, or raise DeliveryFailed."""
        ...


class JsonLinesSink:
    """Appends one envelope per line and fsyncs before reporting success."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path}"
        self._lock = threading.Lock()

    def publish(self, event: PaymentEvent) -> None:
        line = encode(event) + b"\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise DeliveryFailed(f"cannot append to {self.path}: {exc.strerror}") from exc


class HttpSink:
    """POSTs the envelope as JSON; any 2xx is success, anything else is retried later."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"subscriber URL must be http:// or https://, got {url!r}")
        self.url = url
        self.name = f"http:{url}"
        self._timeout = timeout

    def publish(self, event: PaymentEvent) -> None:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url,
            data=encode(event),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "webhook-processor"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"{self.url} answered {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(f"{self.url} unreachable: {reason}") from exc


class MemorySink:
    """Keeps published events in a list; ``fail_next`` makes the next N publishes fail."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.published: list[PaymentEvent] = []
        self.fail_next = 0
        self._lock = threading.Lock()

    def publish(self, event: PaymentEvent) -> None:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise DeliveryFailed(f"{self.name} refused the event (fail_next)")
            self.published.append(event)
