"""An in-memory :class:`~webhook_processor.publishing.base.Sink`: the fake for tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from webhook_processor.model import PaymentEvent
from webhook_processor.publishing.base import Sink


class MemorySink(Sink):
    """Keeps published events in a list; ``fail_next`` makes the next N events fail."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.published: list[PaymentEvent] = []
        self.fail_next = 0
        self._lock = threading.Lock()

    def publish_batch(self, events: Sequence[PaymentEvent]) -> dict[str, str]:
        failed = {}
        with self._lock:
            for event in events:
                if self.fail_next > 0:
                    self.fail_next -= 1
                    failed[event.key] = f"{self.name} refused the event (fail_next)"
                else:
                    self.published.append(event)
        return failed
