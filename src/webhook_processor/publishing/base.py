"""The publishing port: a sink takes a batch of events and says which it did not take.

The local outbox dispatcher and the Lambda stream publisher both hand a sink every due event at
once; the sink answers with the events it did NOT take (key -> reason), which are retried later.
Taking a batch lets the file sink make one fsync for many lines. Each sink has a stable ``name``
so the outbox remembers which sinks already took an event and does not send it to them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from webhook_processor.model import PaymentEvent


class Sink(Protocol):
    """Somewhere published events go: a file, a subscriber, a topic."""

    name: str

    def publish_batch(self, events: Sequence[PaymentEvent]) -> dict[str, str]:
        """Deliver ``events`` in order; return the keys of those not delivered, with why."""
        ...


def shown(sink: Sink) -> str:
    """What logs and errors call ``sink``: its ``shown`` where it has one (a subscriber's URL
    with its credentials masked), else its name."""
    label = getattr(sink, "shown", None)
    return label if isinstance(label, str) else sink.name
