"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`` over ``"{t}.{body}"``.

The HMAC key is the UTF-8 bytes of the whole ``whsec_...`` secret (unlike Standard Webhooks, it
is not base64-decoded). Any ``v1`` entry may match: Stripe sends one per active secret while a
secret is rolled. Amounts are integer minor units.

``payment_intent.*``, ``charge.*``, ``charge.dispute.*`` and ``refund.*`` events are
normalised (see :data:`EVENT_STATUS` and ``docs/events.md``, which cites Stripe's page for each
row); the transaction is the PaymentIntent, so a payment's intent, charge, refund and dispute
events list together. Other authentic events are acknowledged and ignored: refusing them would
make Stripe retry them for three days.

Money: a refund event reports one refund (``re_...``) with its own status, so a refund that
fails after it succeeded is taken back. A charge event carries the charge's ``amount_refunded``,
Stripe's running total of live refunds: an integration that listens only to ``charge.refunded``
is counted from it, one that also listens to ``refund.*`` is never counted twice (see
:class:`~webhook_processor.transactions.Tally`). A payment event's ``amount_received`` (a
charge's ``amount_captured``) is what was captured: a partial capture is below ``amount``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from webhook_processor import codec
from webhook_processor.errors import InvalidPayload, SignatureInvalid, SignatureMismatch
from webhook_processor.model import PaymentEvent, PaymentStatus, WebhookRequest
from webhook_processor.money import from_minor_units, to_minor_units
from webhook_processor.providers.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Provider,
    Sample,
    Signed,
    check_timestamp,
    from_unix,
    optional_object,
    optional_str,
    require_header,
    require_object,
    require_str,
)

#: Stripe counts these currencies with a different number of minor digits than ISO 4217
#: (ISK and UGX in hundredths although ISO has none; MGA in whole ariary).
STRIPE_EXPONENTS: Final = {"ISK": 2, "UGX": 2, "MGA": 0}

_S = PaymentStatus

#: Event type -> normalised status. Types not listed here are acknowledged and ignored.
EVENT_STATUS: Final = {
    "payment_intent.created": _S.PENDING,
    "payment_intent.processing": _S.PENDING,
    "payment_intent.requires_action": _S.PENDING,
    "payment_intent.partially_funded": _S.PENDING,
    "payment_intent.amount_capturable_updated": _S.AUTHORIZED,
    "payment_intent.succeeded": _S.SUCCEEDED,
    "payment_intent.payment_failed": _S.FAILED,
    "payment_intent.canceled": _S.CANCELED,
    "charge.pending": _S.PENDING,
    # An uncaptured charge (``captured: false``) has only been authorized: see _status.
    "charge.succeeded": _S.SUCCEEDED,
    "charge.captured": _S.SUCCEEDED,
    "charge.failed": _S.FAILED,
    "charge.expired": _S.CANCELED,
    # The charge's running total of refunds (amount_refunded), never one refund.
    "charge.refunded": _S.REFUNDED,
    # One refund each, in the status its object says (REFUND_STATUS).
    "refund.created": _S.REFUNDED,
    "refund.updated": _S.REFUNDED,
    "refund.failed": _S.REFUND_FAILED,
    "charge.refund.updated": _S.REFUNDED,
    "charge.dispute.created": _S.DISPUTED,
    "charge.dispute.updated": _S.DISPUTED,
    "charge.dispute.funds_withdrawn": _S.DISPUTED,
    "charge.dispute.funds_reinstated": _S.DISPUTE_WON,
    # Its outcome is the dispute's status: see DISPUTE_OUTCOMES.
    "charge.dispute.closed": _S.DISPUTED,
}

#: A closed dispute's ``status`` -> its outcome (``warning_closed``: an inquiry that never became
#: a chargeback; ``prevented``: stopped before it was filed; the money stayed either way).
DISPUTE_OUTCOMES: Final = {
    "won": _S.DISPUTE_WON,
    "warning_closed": _S.DISPUTE_WON,
    "prevented": _S.DISPUTE_WON,
    "lost": _S.DISPUTE_LOST,
}

#: The API version from which a partial capture no longer refunds the uncaptured remainder
#: (Stripe's changelog, 2025-03-31.basil): before it, ``amount_refunded`` counts the remainder.
REMAINDER_NOT_REFUNDED: Final = "2025-03-31"

#: A refund object's ``status`` -> the refund's normalised status (``requires_action``: the
#: customer must give bank details before it is paid out; it is still owed).
REFUND_STATUS: Final = {
    "pending": _S.REFUND_PENDING,
    "requires_action": _S.REFUND_PENDING,
    "succeeded": _S.REFUNDED,
    "failed": _S.REFUND_FAILED,
    "canceled": _S.REFUND_CANCELED,
}
REFUND_EVENTS: Final = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)

#: The sample status a person asks for -> the event ``send`` builds and its object's status.
SAMPLE_EVENTS: Final = {
    "succeeded": ("payment_intent.succeeded", "succeeded"),
    "authorized": ("payment_intent.amount_capturable_updated", "requires_capture"),
    "failed": ("payment_intent.payment_failed", "requires_payment_method"),
    "canceled": ("payment_intent.canceled", "canceled"),
    "pending": ("payment_intent.processing", "processing"),
    "refunded": ("refund.created", "succeeded"),
    "refund_pending": ("refund.created", "pending"),
    "refund_failed": ("refund.failed", "failed"),
    "refund_canceled": ("refund.updated", "canceled"),
    # charge.refunded: the charge, with its running total of refunds (Sample.refunded_total).
    "refunded_total": ("charge.refunded", "succeeded"),
    "disputed": ("charge.dispute.created", "needs_response"),
    "dispute_won": ("charge.dispute.closed", "won"),
    "dispute_lost": ("charge.dispute.closed", "lost"),
}


class StripeProvider(Provider):
    """Stripe webhook events."""

    name = "stripe"

    def __init__(self, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        self._tolerance = tolerance

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        self._verify(request, secret, now)
        return self.normalise(codec.loads_object(request.body), request.received_at)

    def normalise(self, event: dict[str, Any], received_at: datetime) -> list[PaymentEvent]:
        """The events of one authentic Stripe event object: a verified webhook's body, or one
        the events API listed (``GET /v1/events`` serves the same object, in the event's own
        API version)."""
        event_type = require_str(event, "type")
        event_id = require_str(event, "id")
        if event_type not in EVENT_STATUS:
            return []
        obj = require_object(require_object(event, "data"), "object", "body.data")
        where = "body.data.object"
        currency = require_str(obj, "currency", where).upper()
        exponent = STRIPE_EXPONENTS.get(currency)
        charge = _charge_of(event_type, obj)
        version = event.get("api_version")
        remainder_refunded = isinstance(version, str) and version < REMAINDER_NOT_REFUNDED
        return [
            PaymentEvent(
                provider=self.name,
                event_id=event_id,
                transaction_id=_transaction_id(event_type, obj, where),
                event_type=event_type,
                # The object's own amount: a refund's is that refund's, a dispute's the amount
                # disputed, a payment's the amount asked.
                amount=from_minor_units(obj.get("amount"), currency, exponent),
                currency=currency,
                status=_status(event_type, obj),
                customer_id=_id_of(obj.get("customer"), f"{where}.customer"),
                payment_method=_id_of(obj.get("payment_method"), f"{where}.payment_method"),
                metadata=optional_object(obj, "metadata", where),
                movement_id=require_str(obj, "id", where) if event_type in REFUND_EVENTS else None,
                refunded_total=None
                if charge is None
                else _refunded(charge, currency, remainder_refunded=remainder_refunded),
                captured=_captured(event_type, obj, currency),
                occurred_at=from_unix(event.get("created"), "body.created"),
                received_at=received_at,
            )
        ]

    def _verify(self, request: WebhookRequest, secret: str, now: datetime) -> None:
        """The ``Stripe-Signature`` header read exactly as stripe-python reads it
        (``WebhookSignature._get_timestamp_and_signatures`` and ``verify_header``), so that
        the official library and we agree on every header, joined or repeated ones too."""
        timestamp, candidates = _signature_header(require_header(request, "stripe-signature"))
        expected = _signature(secret, str(timestamp), request.body)
        # In order, as the library's any(): it stops at a match, and refuses a non-ASCII
        # candidate met before one (hmac.compare_digest raises on it).
        for candidate in candidates:
            if not candidate.isascii():
                raise SignatureMismatch("Stripe-Signature has a v1 entry that is not ASCII")
            if hmac.compare_digest(expected, candidate.encode("ascii")):
                break
        else:
            raise SignatureMismatch("Stripe-Signature does not match the body (no valid v1 entry)")
        check_timestamp(timestamp, now, self._tolerance)

    def sign(self, body: bytes, secret: str, now: datetime, message_id: str) -> Signed:
        timestamp = str(int(now.timestamp()))
        signature = _signature(secret, timestamp, body).decode("ascii")
        return Signed(body, {"Stripe-Signature": f"t={timestamp},v1={signature}"})

    def sample(self, spec: Sample) -> bytes:
        if spec.status not in SAMPLE_EVENTS:
            raise InvalidPayload(f"stripe samples have status {', '.join(SAMPLE_EVENTS)}")
        event_type, object_status = SAMPLE_EVENTS[spec.status]
        currency = spec.currency.upper()
        units = to_minor_units(spec.amount, currency, STRIPE_EXPONENTS.get(currency))
        suffix = spec.event_id.removeprefix("evt_")
        intent = spec.transaction_id or f"pi_{suffix}"
        charge = f"ch_{intent.removeprefix('pi_')}"
        obj: dict[str, Any] = {"amount": units, "currency": currency.lower()}
        if event_type in REFUND_EVENTS:
            obj |= {"id": spec.movement_id or f"re_{suffix}", "object": "refund", "charge": charge}
            obj |= {"payment_intent": intent, "reason": "requested_by_customer"}
            obj |= {"created": int(spec.created.timestamp())}
            if object_status == "failed":
                obj["failure_reason"] = "lost_or_stolen_card"
        elif event_type == "charge.refunded":
            total = spec.refunded_total if spec.refunded_total is not None else spec.amount
            refunded = to_minor_units(total, currency, STRIPE_EXPONENTS.get(currency))
            obj |= {"id": charge, "object": "charge", "payment_intent": intent}
            obj |= {"amount_captured": units, "amount_refunded": refunded, "captured": True}
            obj |= {"refunded": refunded >= units, "paid": True}
        elif event_type.startswith("charge.dispute."):
            obj |= {"id": f"dp_{suffix}", "object": "dispute", "charge": charge}
            obj |= {"payment_intent": intent, "reason": "fraudulent"}
        else:
            obj |= {"id": intent, "object": "payment_intent"}
            obj |= {"customer": "cus_local", "payment_method": "pm_card_visa"}
            if event_type == "payment_intent.succeeded":
                captured = spec.amount if spec.captured is None else spec.captured
                obj["amount_received"] = to_minor_units(
                    captured, currency, STRIPE_EXPONENTS.get(currency)
                )
        obj |= {
            "status": object_status,
            "metadata": {"source": "webhook-processor send"},
            "livemode": False,
        }
        event = {
            "id": spec.event_id,
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(spec.created.timestamp()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        return codec.dumps(event).encode()

    def new_secret(self) -> str:
        return "whsec_" + secrets.token_hex(24)


def _signature_header(header: str) -> tuple[int, list[str]]:
    """The timestamp and the v1 signatures of a ``Stripe-Signature`` header, as stripe-python
    finds them: entries split at commas, each at its first two ``=``; keys compared exactly (no
    spaces, no other case); the first ``t`` is the timestamp, read by ``int()``; an entry
    ``t`` or ``v1`` with no ``=`` makes the header unreadable."""
    entries = [entry.split("=", 2) for entry in header.split(",")]
    try:
        stamps = [entry[1] for entry in entries if entry[0] == "t"]
        candidates = [entry[1] for entry in entries if entry[0] == "v1"]
        timestamp = int(stamps[0])
    except (IndexError, ValueError):
        raise SignatureInvalid(
            "Stripe-Signature needs a t=<Unix seconds> entry and v1=<signature> entries"
        ) from None
    if not candidates:
        raise SignatureInvalid("Stripe-Signature has no v1= signature")
    return timestamp, candidates


def _signature(secret: str, timestamp: str, body: bytes) -> bytes:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return mac.hexdigest().encode("ascii")


def _status(event_type: str, obj: dict[str, Any]) -> PaymentStatus:
    if event_type in REFUND_EVENTS:
        status = obj.get("status")
        if event_type == "refund.failed" or not isinstance(status, str):
            return EVENT_STATUS[event_type]
        if status not in REFUND_STATUS:
            raise InvalidPayload(f"body.data.object.status {status[:40]!r} is no refund status")
        return REFUND_STATUS[status]
    if event_type == "charge.succeeded" and obj.get("captured") is False:
        return PaymentStatus.AUTHORIZED
    if event_type == "charge.dispute.closed":
        return DISPUTE_OUTCOMES.get(str(obj.get("status")), PaymentStatus.DISPUTED)
    return EVENT_STATUS[event_type]


def _transaction_id(event_type: str, obj: dict[str, Any], where: str) -> str:
    """The PaymentIntent, so that a payment's intent, charge, refund and dispute events list
    together; a charge made without one (the Charges API) is its own transaction."""
    if event_type.startswith("payment_intent."):
        return require_str(obj, "id", where)
    intent = optional_str(obj, "payment_intent", where)
    if intent:
        return intent
    if _is_charge(event_type):
        return require_str(obj, "id", where)  # the charge itself
    charge = _id_of(obj.get("charge"), f"{where}.charge")
    if not charge:
        raise InvalidPayload(f"{where} names neither a payment_intent nor a charge")
    return charge


def _id_of(value: object, where: str) -> str | None:
    """Stripe fields like ``customer`` hold an id, or the object itself when expanded."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    raise InvalidPayload(f"{where} must be an id string, an object with an id, or null")


def _charge_of(event_type: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The charge of a ``charge.refunded``, whose ``amount_refunded`` is Stripe's running
    total of its live refunds. Other charge events carry it too, but they are not about refunds:
    a payment event is late or not by its payment's progress alone."""
    return obj if event_type == "charge.refunded" else None


def _refunded(charge: dict[str, Any], currency: str, *, remainder_refunded: bool) -> Decimal | None:
    """The charge's running total of refunds. Before API version 2025-03-31 Stripe counted the
    uncaptured remainder of a partial capture in ``amount_refunded`` though no money went back:
    it is taken off where the charge says what was captured."""
    if "amount_refunded" not in charge:
        raise InvalidPayload("body.data.object.amount_refunded is missing from a charge.refunded")
    refunded = charge.get("amount_refunded")
    if charge.get("captured") is False:
        # Cancelling an uncaptured charge released the authorisation; before 2025-03-31 Stripe
        # counted it in amount_refunded, but no money was taken, so none went back.
        return Decimal(0)
    exponent = STRIPE_EXPONENTS.get(currency)
    total = from_minor_units(refunded, currency, exponent)
    captured = charge.get("amount_captured")
    if remainder_refunded and charge.get("captured") is True and captured is not None:
        amount = from_minor_units(charge.get("amount"), currency, exponent)
        remainder = amount - from_minor_units(captured, currency, exponent)
        total -= min(total, remainder)
    return total


def _captured(event_type: str, obj: dict[str, Any], currency: str) -> Decimal | None:
    """What a payment event says was captured: the intent's ``amount_received``, a captured
    charge's ``amount_captured``; None where the object does not say (its ``amount``)."""
    if event_type == "payment_intent.succeeded":
        value = obj.get("amount_received")
        if value is None:  # an API version before amount_received: its charges say
            return _captured_by_charges(obj, currency)
    elif obj.get("object") == "charge" and obj.get("captured") is True:
        value = obj.get("amount_captured")
    else:
        return None
    if value is None:
        return None
    return from_minor_units(value, currency, STRIPE_EXPONENTS.get(currency))


def _captured_by_charges(intent: dict[str, Any], currency: str) -> Decimal | None:
    """What the charges an intent lists (API versions before 2022-11-15) captured: each
    captured charge's ``amount_captured``, or, before that field, its amount less what was
    refunded when the intent succeeded (the uncaptured remainder of a partial capture)."""
    charges = intent.get("charges")
    listed = charges.get("data") if isinstance(charges, dict) else None
    if not isinstance(listed, list) or not listed:
        return None
    exponent = STRIPE_EXPONENTS.get(currency)
    total = Decimal(0)
    for charge in listed:
        if not isinstance(charge, dict) or charge.get("captured") is not True:
            continue
        if charge.get("amount_captured") is not None:
            total += from_minor_units(charge.get("amount_captured"), currency, exponent)
        else:
            amount = from_minor_units(charge.get("amount"), currency, exponent)
            refunded = from_minor_units(charge.get("amount_refunded", 0), currency, exponent)
            total += max(amount - refunded, Decimal(0))
    return total


def _is_charge(event_type: str) -> bool:
    """Whether the event's object is a charge (not a dispute, nor a refund of one)."""
    return (
        event_type.startswith("charge.")
        and not event_type.startswith("charge.dispute.")
        and event_type not in REFUND_EVENTS
    )
