"""The generic provider: the original system's JSON body, signed with Standard Webhooks headers.

Body::

    {"transaction_id": "txn_1", "provider": "paypal", "amount": "19.99", "currency": "USD",
     "status": "succeeded", "customer_id": "cus_1", "payment_method": "card",
     "metadata": {...}, "event_type": "payment.succeeded", "event_id": "msg_1"}

The idempotency key is the ``webhook-id`` header; an ``event_id`` in the body, if present, must
agree with it. A missing ``transaction_id`` is a 400: the original system fell back to
``txn-{int(time.time())}``, so two events in one second overwrote each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from webhook_processor import codec
from webhook_processor.errors import InvalidPayload
from webhook_processor.model import REFUND_STATUSES, PaymentEvent, PaymentStatus, WebhookRequest
from webhook_processor.money import parse_amount
from webhook_processor.providers import standard_webhooks_scheme as scheme
from webhook_processor.providers.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Provider,
    Sample,
    Signed,
    optional_object,
    optional_str,
    require_str,
)

#: The words senders use for each normalised status (the status names themselves included).
STATUS_WORDS: Final = {
    **dict.fromkeys(["pending", "processing", "requires_action", "created"], "pending"),
    **dict.fromkeys(["authorized", "authorised", "requires_capture", "approved"], "authorized"),
    **dict.fromkeys(["succeeded", "success", "completed", "captured", "paid"], "succeeded"),
    **dict.fromkeys(["failed", "failure", "declined", "error"], "failed"),
    **dict.fromkeys(["canceled", "cancelled", "voided", "expired"], "canceled"),
    **dict.fromkeys(["refunded", "refund", "refund_succeeded"], "refunded"),
    **dict.fromkeys(["refund_pending"], "refund_pending"),
    **dict.fromkeys(["refund_failed", "refund_reversed"], "refund_failed"),
    **dict.fromkeys(["refund_canceled", "refund_cancelled"], "refund_canceled"),
    **dict.fromkeys(["capture_failed"], "capture_failed"),
    **dict.fromkeys(["disputed", "dispute", "chargeback"], "disputed"),
    **dict.fromkeys(["dispute_won", "chargeback_reversed"], "dispute_won"),
    **dict.fromkeys(["dispute_lost"], "dispute_lost"),
}


def normalise_status(word: str) -> PaymentStatus:
    status = STATUS_WORDS.get(word.strip().lower())
    if status is None:
        raise InvalidPayload(
            f"body.status {word!r} is not a known payment status; use one of "
            f"{', '.join(PaymentStatus)} (or a common synonym such as 'completed')"
        )
    return PaymentStatus(status)


class GenericProvider(Provider):
    """Any system that posts the generic JSON body with Standard Webhooks signatures."""

    name = "generic"
    event_id_prefix = "msg_"

    def __init__(self, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        self._tolerance = tolerance

    def check_secret(self, secret: str) -> None:
        scheme.secret_key(secret)

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        message_id = scheme.verify(request, secret, now, self._tolerance)
        body = codec.loads_object(request.body)
        body_event_id = optional_str(body, "event_id")
        if body_event_id is not None and body_event_id != message_id:
            raise InvalidPayload(
                f"body.event_id {body_event_id!r} differs from the webhook-id header "
                f"{message_id!r}; they must name the same event"
            )
        return [self.normalise(body, message_id, request.received_at)]

    def normalise(self, body: dict[str, Any], event_id: str, received_at: datetime) -> PaymentEvent:
        """The event of an already-authenticated generic body."""
        currency = require_str(body, "currency").upper()
        status = normalise_status(require_str(body, "status"))
        if "amount" not in body:
            raise InvalidPayload("body.amount is missing")
        return PaymentEvent(
            provider=self.name,
            event_id=event_id,
            transaction_id=require_str(body, "transaction_id"),
            event_type=optional_str(body, "event_type") or f"payment.{status}",
            amount=parse_amount(body["amount"], currency),
            currency=currency,
            status=status,
            customer_id=optional_str(body, "customer_id"),
            payment_method=optional_str(body, "payment_method"),
            metadata=_metadata(body),
            # A refund reported more than once (pending, then succeeded or failed) names itself.
            movement_id=optional_str(body, "refund_id") if status in REFUND_STATUSES else None,
            occurred_at=received_at,
            received_at=received_at,
        )

    def sign(self, body: bytes, secret: str, now: datetime, message_id: str) -> Signed:
        return Signed(body, scheme.headers(body, secret, now, message_id))

    def sample(self, spec: Sample) -> bytes:
        return codec.dumps(
            {
                "event_id": spec.event_id,
                "transaction_id": spec.transaction_id
                or f"txn_{spec.event_id.removeprefix('msg_')}",
                "provider": "generic",
                "amount": parse_amount(spec.amount, spec.currency),
                "currency": spec.currency.upper(),
                "status": spec.status,
                "customer_id": "cus_local",
                "payment_method": "card",
                "metadata": {"source": "webhook-processor send"},
                **({"refund_id": spec.movement_id} if spec.movement_id else {}),
            }
        ).encode()

    def new_secret(self) -> str:
        return scheme.new_secret()


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    metadata = optional_object(body, "metadata")
    origin = optional_str(body, "provider")
    # The original body names the upstream provider; keep it without widening the event model.
    return {**metadata, "provider": origin} if origin is not None else metadata
