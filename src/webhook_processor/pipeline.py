"""The one pipeline every entry point runs: verify, normalise, store if absent, answer.

Order matters for safety: method, provider and size are checked from the envelope alone; the
signature is verified on the raw bytes before any byte of the body is parsed; an event is
stored (with its outbox entry, atomically) before the outcome says ``accepted``. The pipeline
never publishes: the outbox does, so a publish failure cannot lose an acknowledged event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from webhook_processor import codec
from webhook_processor.errors import (
    InvalidPayload,
    MethodNotAllowed,
    PayloadTooLarge,
    UnknownProvider,
    UnsupportedMediaType,
    WebhookError,
)
from webhook_processor.limits import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_ENVELOPE_BYTES,
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    SURE_FIT_BODY_BYTES,
)
from webhook_processor.model import Disposition, Outcome, PaymentEvent, WebhookRequest, utc_now
from webhook_processor.providers.base import Provider, parse_signed
from webhook_processor.publishing.envelope import MAX_TRANSACTION_BYTES, encode
from webhook_processor.storage.base import EventStore

log = logging.getLogger(__name__)

#: What reading hostile input can raise in an adapter besides its own errors: values of the
#: wrong type or range, arithmetic on them, text that is not Unicode, nesting that is too deep.
INPUT_ERRORS = (
    ArithmeticError,
    LookupError,
    RecursionError,
    TypeError,
    UnicodeError,
    ValueError,
)


class SecretSource(Protocol):
    def active(self, provider: str) -> tuple[str, ...]:
        """The active signing secrets of ``provider``, the current one first (several while a
        secret is rotated); raises SecretUnavailable if they cannot be read."""
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
        adapter, events = self._verify(request)
        return self._answer(adapter, events, self._store.insert_all(events) if events else [])

    async def receive_async(self, request: WebhookRequest) -> Outcome:
        """:meth:`receive` for an event loop: verification runs inline (pure CPU, tens of
        microseconds), the durable write is awaited without holding a thread."""
        adapter, events = self._verify(request)
        inserted = await self._store.insert_all_async(events) if events else []
        return self._answer(adapter, events, inserted)

    def accept_trusted(self, provider: str, events: Sequence[PaymentEvent]) -> Outcome:
        """Store events whose sender was authenticated another way (an IAM-signed Lambda
        invocation): the same identifier checks and idempotent write, no signature."""
        adapter = self.provider(provider)
        for event in events:
            check_event(event)
            # Request bodies are checked by the codec as they are parsed; these were not.
            codec.check_strings(dict(event.metadata))
            check_publishable(event)
        return self._answer(adapter, events, self._store.insert_all(events) if events else [])

    def _verify(self, request: WebhookRequest) -> tuple[Provider, list[PaymentEvent]]:
        """Everything before storing: envelope checks, signature on the raw bytes, parsing."""
        adapter = self.provider(request.provider)
        if request.method != "POST":
            raise MethodNotAllowed(request.method)
        if len(request.body) > self.max_body_bytes:
            raise PayloadTooLarge(self.max_body_bytes)
        _check_media_type(request.header("content-type"))
        try:
            events = parse_signed(
                adapter, request, self._secrets.active(adapter.name), self.clock()
            )
        except WebhookError:
            raise
        except INPUT_ERRORS as exc:
            # An adapter that trips over a value it did not expect has still been handed bad
            # input: the sender must hear a 4xx (a 5xx makes providers retry it for days). The
            # traceback is logged, without the payload, so the gap can be closed in the adapter.
            log.warning("%s adapter could not read a request", adapter.name, exc_info=True)
            raise InvalidPayload(
                f"the {adapter.name} event could not be read ({type(exc).__name__})"
            ) from exc
        may_outgrow = len(request.body) > SURE_FIT_BODY_BYTES
        for event in events:
            check_event(event)
            if may_outgrow:
                check_publishable(event)
        return adapter, events

    def _answer(
        self, adapter: Provider, events: Sequence[PaymentEvent], inserted: Sequence[bool]
    ) -> Outcome:
        """The outcome once each event was stored (True) or found stored (False)."""
        if not events:
            log.info("ignored: authentic event of a type not normalised")
            disposition = Disposition.IGNORED
        else:
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
        outcome = Outcome(
            disposition, tuple(event.event_id for event in events), stored=sum(inserted)
        )
        reply = adapter.reply(outcome)
        return outcome if reply is None else replace(outcome, reply=reply)


def check_event(event: PaymentEvent) -> None:
    """What every store needs of an event, whichever adapter built it (or whichever way it
    came: a webhook, a trusted invocation, a reconciliation): bounded printable ids and text
    fields that UTF-8 can encode."""
    ids = [("event id", event.event_id), ("transaction id", event.transaction_id)]
    if event.movement_id is not None:  # a refund's id is a key in every store too
        ids.append(("refund id", event.movement_id))
    for name, value in ids:
        if len(value) > MAX_ID_LENGTH:
            raise InvalidPayload(f"{name} is {len(value)} characters; the limit is {MAX_ID_LENGTH}")
        if not value.isprintable():
            raise InvalidPayload(f"{name} contains control characters")
    texts: list[tuple[str, str | None]] = [
        ("event type", event.event_type),
        ("currency", event.currency),
        ("status", event.status),
        ("customer id", event.customer_id),
        ("payment method", event.payment_method),
    ]
    for name, text in texts:
        if text is None:
            continue
        if len(text) > MAX_TEXT_LENGTH:
            # Published whatever the metadata's size (as an SNS attribute, some of them): bounded,
            # so that the size chain holds (limits.py).
            raise InvalidPayload(
                f"{name} is {len(text)} characters; the limit is {MAX_TEXT_LENGTH}"
            )
        if not text.isascii():  # ASCII, as these nearly always are, holds no surrogate
            codec.check_strings(text)
        if not text.isprintable():  # SNS takes no control character in an attribute value
            raise InvalidPayload(f"{name} contains control characters")


def check_publishable(event: PaymentEvent) -> None:
    """Refuse, before it is stored, an event whose envelope could not be published: SNS takes
    :data:`~webhook_processor.limits.MAX_ENVELOPE_BYTES` with the attributes, and the
    transaction's state is added to the envelope once the event is stored."""
    size = len(encode(event)) + MAX_TRANSACTION_BYTES
    if size > MAX_ENVELOPE_BYTES:
        raise PayloadTooLarge(
            MAX_ENVELOPE_BYTES,
            f"the {event.provider} event would publish as about {size} bytes; "
            f"subscribers can be sent at most {MAX_ENVELOPE_BYTES} (SNS's 256 KiB, attributes "
            "included): send less metadata",
        )


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
