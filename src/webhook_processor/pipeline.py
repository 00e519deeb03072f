"""The one pipeline every entry point runs: verify, normalise, store if absent, answer.

Order matters for safety: method, provider and size are checked from the envelope alone; the
signature is verified on the raw bytes before any byte of the body is parsed; an event is
stored (with its outbox entry, atomically) before the outcome says ``accepted``. The pipeline
never publishes: the outbox does, so a publish failure cannot lose an acknowledged event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from webhook_processor.errors import (
    InvalidPayload,
    MethodNotAllowed,
    PayloadTooLarge,
    UnknownProvider,
    UnsupportedMediaType,
)
from webhook_processor.model import Disposition, Outcome, PaymentEvent, WebhookRequest, utc_now
from webhook_processor.providers.base import Provider
from webhook_processor.storage.base import EventStore

log = logging.getLogger(__name__)

#: Default body limit. Real provider events are a few KiB; Adyen batches stay well under this.
DEFAULT_MAX_BODY_BYTES = 256 * 1024

#: Longest accepted event or transaction id. Provider ids are tens of characters; without a
#: bound a signed but absurd id would exceed DynamoDB's key size and fail as a 5xx, forever.
MAX_ID_LENGTH = 255


class SecretSource(Protocol):
    def get(self, provider: str) -> str:
        """The signing secret of ``provider``; raises SecretUnavailable if it cannot be read."""
        ...


class Pipeline:
    """Receives webhook requests for a set of providers into one store."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        secrets: SecretSource,
        store: EventStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_accepted: Callable[[], None] | None = None,
    ) -> None:
        self._providers = providers
        self._secrets = secrets
        self._store = store
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self._on_accepted = on_accepted

    def provider(self, name: str) -> Provider:
        """The adapter called ``name``, or UnknownProvider."""
        adapter = self._providers.get(name)
        if adapter is None:
            raise UnknownProvider(name, tuple(self._providers))
        return adapter

    def receive(self, request: WebhookRequest) -> Outcome:
        """Run one request through the pipeline; raise a WebhookError for anything but success."""
        return self._store_all(self.verify(request))

    def verify(self, request: WebhookRequest) -> list[PaymentEvent]:
        """Everything before storing: envelope checks, signature on the raw bytes, parsing.

        Pure CPU, no I/O beyond the cached secret, so an event loop may call it inline.
        """
        adapter = self.provider(request.provider)
        if request.method != "POST":
            raise MethodNotAllowed(request.method)
        if len(request.body) > self.max_body_bytes:
            raise PayloadTooLarge(self.max_body_bytes)
        _check_media_type(request.header("content-type"))
        events = adapter.parse(request, self._secrets.get(adapter.name), self.clock())
        for event in events:
            _check_identifiers(event)
        return events

    def record(self, events: Sequence[PaymentEvent]) -> Outcome:
        """Store verified events, each at most once, and say what happened.

        ``receive`` calls this after ``verify``; entry points whose caller is already
        authenticated another way (an IAM-signed Lambda invocation) call it directly.
        """
        for event in events:
            _check_identifiers(event)
        return self._store_all(events)

    def _store_all(self, events: Sequence[PaymentEvent]) -> Outcome:
        return self.outcome(events, [self._store.insert_if_absent(event) for event in events])

    def outcome(self, events: Sequence[PaymentEvent], inserted: Sequence[bool]) -> Outcome:
        """The answer for ``events`` once each was stored (True) or found stored (False)."""
        if not events:
            log.info("ignored: authentic event of a type not normalised")
            return Outcome(Disposition.IGNORED, ())
        for event, was_inserted in zip(events, inserted, strict=True):
            log.info(
                "%s provider=%s event_id=%s",
                "stored" if was_inserted else "duplicate",
                event.provider,
                event.event_id,
            )
        stored_any = any(inserted)
        if stored_any and self._on_accepted is not None:
            self._on_accepted()
        disposition = Disposition.ACCEPTED if stored_any else Disposition.DUPLICATE
        return Outcome(disposition, tuple(event.event_id for event in events))


def _check_identifiers(event: PaymentEvent) -> None:
    for name, value in (("event id", event.event_id), ("transaction id", event.transaction_id)):
        if len(value) > MAX_ID_LENGTH:
            raise InvalidPayload(f"{name} is {len(value)} characters; the limit is {MAX_ID_LENGTH}")
        if not value.isprintable():
            raise InvalidPayload(f"{name} contains control characters")


def _check_media_type(content_type: str | None) -> None:
    """Accept JSON or no declared type (some senders omit it); refuse anything else."""
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return
    raise UnsupportedMediaType(
        f"Content-Type {media_type or '(empty)'!r} is not JSON; send application/json"
    )
