"""What the local processor has done since it started: the inspector's counters.

Every number is a count since start, kept in memory, and everything kept is bounded whatever
senders do: the counts by reason are keyed by the processor's own error codes, the counts by
sink by the configured sinks, and the recent rejections are a ring of :data:`RECENT_REJECTIONS`.
A rejection keeps its reason, provider and time, never the body, a header or a signature.

The webhook route and the outbox lanes (threads) update the counters, so each update takes a
lock: uncontended, a fraction of a microsecond beside a request's tens.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from webhook_processor.model import Outcome, utc_now

#: How many rejected requests the inspector lists (the oldest are forgotten).
RECENT_REJECTIONS: Final = 200
#: A provider path segment is the sender's text: a rejection keeps at most this much of it.
MAX_PROVIDER_CHARS: Final = 40


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused webhook request: why, for which provider path, when, and the status."""

    at: datetime
    provider: str
    reason: str
    status: int


class Counters:
    """Counts since start, and the latest rejections. Thread-safe."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._received = 0
        self._stored = 0
        self._duplicates = 0
        self._ignored = 0
        self._rejected: collections.Counter[str] = collections.Counter()
        self._published: collections.Counter[str] = collections.Counter()
        self._dead: collections.Counter[str] = collections.Counter()
        self._recent: collections.deque[Rejection] = collections.deque(maxlen=RECENT_REJECTIONS)
        self._revision = 0
        self.started_at = clock()

    def received(self) -> None:
        """A webhook request arrived (whatever becomes of it)."""
        with self._lock:
            self._received += 1

    def answered(self, outcome: Outcome) -> None:
        """A verified delivery was answered 200: stored, duplicate or ignored."""
        with self._lock:
            if not outcome.event_ids:
                self._ignored += 1
                return
            self._stored += outcome.stored
            self._duplicates += len(outcome.event_ids) - outcome.stored
            self._revision += 1

    def rejected(self, provider: str, reason: str, status: int) -> None:
        """A webhook request was refused with ``status`` for ``reason`` (an error code)."""
        shown = provider[:MAX_PROVIDER_CHARS]
        if not shown.isprintable():  # control, format and bidi characters shown as escapes
            shown = ascii(shown)[1:-1]
        rejection = Rejection(self._clock(), shown, reason, status)
        with self._lock:
            self._rejected[reason] += 1
            self._recent.append(rejection)
            self._revision += 1

    def delivered(self, sink: str, count: int) -> None:
        """``sink`` took ``count`` events (the outbox lanes call this)."""
        with self._lock:
            self._published[sink] += count
            self._revision += 1

    def dead(self, sink: str) -> None:
        """``sink`` gave up on an event: it became a dead letter."""
        with self._lock:
            self._dead[sink] += 1
            self._revision += 1

    def changed(self) -> None:
        """Something the inspector lists changed otherwise (a redrive): pages refresh."""
        with self._lock:
            self._revision += 1

    @property
    def revision(self) -> int:
        """Grows with every change the inspector lists; the page refreshes when it moves."""
        return self._revision

    def snapshot(self) -> dict[str, Any]:
        """The counts, as the inspector's JSON shows them."""
        with self._lock:
            return {
                "started_at": self.started_at.isoformat(),
                "revision": self._revision,
                "received": self._received,
                "stored": self._stored,
                "duplicates": self._duplicates,
                "ignored": self._ignored,
                "rejected": sum(self._rejected.values()),
                "rejected_by_reason": dict(sorted(self._rejected.items())),
                "published": sum(self._published.values()),
                "published_by_sink": dict(sorted(self._published.items())),
                "dead": sum(self._dead.values()),
                "dead_by_sink": dict(sorted(self._dead.items())),
            }

    def rejections(self) -> list[Rejection]:
        """The latest rejections, newest first."""
        with self._lock:
            return list(reversed(self._recent))
