"""Adyen standard notifications: a batch of items, each one signed inside the body.

Body::

    {"live": "false", "notificationItems": [{"NotificationRequestItem": {
        "pspReference": "QFQTPCQ8HXSKGK82", "originalReference": "9913140798220028",
        "merchantAccountCode": "YOUR_MERCHANT_ACCOUNT", "merchantReference": "order-42",
        "amount": {"value": 1000, "currency": "EUR"}, "eventCode": "CAPTURE", "success": "true",
        "eventDate": "2021-01-01T01:00:00+01:00", "paymentMethod": "visa",
        "additionalData": {"hmacSignature": "<base64>"}}}]}

Each item's signature is HMAC-SHA256, keyed with the hex-decoded HMAC key, over
``pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success``
(a missing field is empty; nothing is escaped, so a colon inside a reference is signed as is),
base64-encoded in ``additionalData.hmacSignature``. EVERY item is verified before any is
normalised: one bad item refuses the whole request, and nothing of it is stored.

Each item is one event. Adyen identifies an event by ``eventCode`` and ``pspReference`` and may
resend the same pair with the other outcome, so the event id is
``{eventCode}:{pspReference}:{success}``. The transaction is the payment: ``pspReference`` for a
payment, ``originalReference`` for a modification (capture, refund, cancellation, chargeback).
Adyen requires the body ``[accepted]`` on success, whatever was stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any, Final

from webhook_processor import codec
from webhook_processor.errors import (
    InvalidPayload,
    SecretUnavailable,
    SignatureInvalid,
    SignatureMismatch,
)
from webhook_processor.limits import MAX_BATCH_ITEMS
from webhook_processor.model import (
    Outcome,
    PaymentEvent,
    PaymentStatus,
    Reply,
    WebhookRequest,
)
from webhook_processor.money import from_minor_units, to_minor_units
from webhook_processor.providers.base import (
    Provider,
    Sample,
    Signed,
    from_rfc3339,
    optional_object,
    optional_str,
    require_object,
    require_str,
)

#: The item fields Adyen signs, in order.
SIGNED_FIELDS: Final = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)

#: Adyen counts these currencies with another number of minor digits than ISO 4217 (its
#: "Currency codes and minor units" page: CLP and ISK in hundredths, CVE and IDR in units).
ADYEN_EXPONENTS: Final = {"CLP": 2, "CVE": 0, "IDR": 0, "ISK": 2}

_S = PaymentStatus

#: (eventCode, success) -> normalised status. Anything else is acknowledged and ignored: a
#: refused cancellation (``success: false``) changed nothing. A refund or capture is a record of
#: its own, keyed by its ``pspReference`` (see :data:`MOVEMENTS`), so a ``REFUND_FAILED`` takes
#: back the ``REFUND`` it names. ``docs/events.md`` cites Adyen's page for each row.
EVENT_STATUS: Final = {
    ("AUTHORISATION", True): _S.AUTHORIZED,
    ("AUTHORISATION", False): _S.FAILED,
    ("AUTHORISATION_ADJUSTMENT", True): _S.AUTHORIZED,
    # One capture each (several partial captures add up); a refused or failed one took nothing.
    ("CAPTURE", True): _S.SUCCEEDED,
    ("CAPTURE", False): _S.CAPTURE_FAILED,
    ("CAPTURE_FAILED", True): _S.CAPTURE_FAILED,
    ("CANCELLATION", True): _S.CANCELED,
    ("TECHNICAL_CANCEL", True): _S.CANCELED,
    ("OFFER_CLOSED", True): _S.CANCELED,
    ("EXPIRE", True): _S.CANCELED,
    # Cancelled or refunded, whichever Adyen did: additionalData["modification.action"].
    ("CANCEL_OR_REFUND", True): _S.CANCELED,
    # One item per refund, with that refund's own amount; a refund can fail after it was
    # reported (REFUND_FAILED) or come back from the scheme (REFUNDED_REVERSED).
    ("REFUND", True): _S.REFUNDED,
    ("REFUND", False): _S.REFUND_FAILED,
    ("REFUND_FAILED", True): _S.REFUND_FAILED,
    ("REFUNDED_REVERSED", True): _S.REFUND_FAILED,
    ("NOTIFICATION_OF_CHARGEBACK", True): _S.DISPUTED,
    ("REQUEST_FOR_INFORMATION", True): _S.DISPUTED,
    ("CHARGEBACK", True): _S.DISPUTED,
    ("CHARGEBACK_REVERSED", True): _S.DISPUTE_WON,
    ("PREARBITRATION_WON", True): _S.DISPUTE_WON,
    ("SECOND_CHARGEBACK", True): _S.DISPUTE_LOST,
    ("PREARBITRATION_LOST", True): _S.DISPUTE_LOST,
}

#: The sample status a person asks for -> the item ``send`` builds: (eventCode, success).
SAMPLE_EVENTS: Final = {
    "authorized": ("AUTHORISATION", "true"),
    "failed": ("AUTHORISATION", "false"),
    "succeeded": ("CAPTURE", "true"),
    "canceled": ("CANCELLATION", "true"),
    "refunded": ("REFUND", "true"),
    "refund_failed": ("REFUND_FAILED", "true"),
    "capture_failed": ("CAPTURE_FAILED", "true"),
    "disputed": ("CHARGEBACK", "true"),
    "dispute_won": ("CHARGEBACK_REVERSED", "true"),
    "dispute_lost": ("SECOND_CHARGEBACK", "true"),
}

#: The statuses whose item is one refund or capture, named by the item's own pspReference.
MOVEMENTS: Final = frozenset({_S.SUCCEEDED, _S.CAPTURE_FAILED, _S.REFUNDED, _S.REFUND_FAILED})

ACCEPTED: Final = Reply("text/plain", b"[accepted]")


class AdyenProvider(Provider):
    """Adyen standard notifications, verified item by item."""

    name = "adyen"
    event_id_prefix = ""
    batches = True

    def check_secret(self, secret: str) -> None:
        _key(secret)

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        body = codec.loads_object(request.body)
        items = _items(body)
        key = _key(secret)
        for index, item in enumerate(items, 1):
            expected = base64.b64encode(_mac(key, item, index))
            given = _signature(item, index).encode("ascii", "replace")
            if not hmac.compare_digest(expected, given):
                raise SignatureMismatch(
                    f"notificationItems[{index}] hmacSignature does not match the item; "
                    f"the whole batch of {len(items)} is refused"
                )
        events = (self._event(item, index, body, request) for index, item in enumerate(items, 1))
        return [event for event in events if event is not None]

    def _event(
        self, item: dict[str, Any], index: int, body: dict[str, Any], request: WebhookRequest
    ) -> PaymentEvent | None:
        where = f"notificationItems[{index}]"
        event_code = require_str(item, "eventCode", where)
        success_text = require_str(item, "success", where)
        if success_text not in ("true", "false"):
            raise InvalidPayload(f"{where}.success must be 'true' or 'false'")
        status = EVENT_STATUS.get((event_code, success_text == "true"))
        if status is None:
            return None
        psp_reference = require_str(item, "pspReference", where)
        additional = optional_object(item, "additionalData", where)
        if event_code == "CANCEL_OR_REFUND" and additional.get("modification.action") == "refund":
            status = PaymentStatus.REFUNDED
        amount = require_object(item, "amount", where)
        currency = require_str(amount, "currency", f"{where}.amount").upper()
        merchant_reference = optional_str(item, "merchantReference", where)
        original = optional_str(item, "originalReference", where)
        # A modification (a capture, a refund) has a pspReference of its own; a payment's own
        # item (an AUTHORISATION captured at once) is no separate capture.
        movement = psp_reference if original and status in MOVEMENTS else None
        return PaymentEvent(
            provider=self.name,
            event_id=f"{event_code}:{psp_reference}:{success_text}",
            transaction_id=original or psp_reference,
            event_type=event_code,
            amount=from_minor_units(amount.get("value"), currency, ADYEN_EXPONENTS.get(currency)),
            currency=currency,
            status=status,
            customer_id=optional_str(additional, "shopperReference", f"{where}.additionalData"),
            payment_method=optional_str(item, "paymentMethod", where),
            movement_id=movement,
            metadata={
                "psp_reference": psp_reference,
                **({"merchant_reference": merchant_reference} if merchant_reference else {}),
                "live": body.get("live") == "true",
            },
            occurred_at=from_rfc3339(
                item.get("eventDate"), f"{where}.eventDate", request.received_at
            ),
            received_at=request.received_at,
        )

    def sign(self, body: bytes, secret: str, now: datetime, message_id: str) -> Signed:
        notification = codec.loads_object(body)
        key = _key(secret)
        for index, item in enumerate(_items(notification), 1):
            signature = base64.b64encode(_mac(key, item, index)).decode("ascii")
            additional = item.get("additionalData")
            item["additionalData"] = {
                **(additional if isinstance(additional, dict) else {}),
                "hmacSignature": signature,
            }
        return Signed(codec.dumps(notification).encode(), {})

    def sample(self, spec: Sample) -> bytes:
        if spec.status not in SAMPLE_EVENTS:
            raise InvalidPayload(f"adyen samples have status {', '.join(SAMPLE_EVENTS)}")
        event_code, success = SAMPLE_EVENTS[spec.status]
        currency = spec.currency.upper()
        amount = spec.captured if spec.captured is not None else spec.amount
        value = to_minor_units(amount, currency, ADYEN_EXPONENTS.get(currency))
        references = (
            [spec.event_id]
            if spec.items == 1
            else [f"{spec.event_id}{n}" for n in range(1, spec.items + 1)]
        )
        items = []
        for reference in references:
            item: dict[str, Any] = {
                "additionalData": {"hmacSignature": ""},
                "amount": {"currency": currency, "value": value},
                "eventCode": event_code,
                "eventDate": spec.created.isoformat(),
                "merchantAccountCode": "WebhookProcessorLocal",
                "merchantReference": f"order-{reference}",
                "paymentMethod": "visa",
                "pspReference": reference,
                "reason": "",
                "success": success,
            }
            payment = spec.transaction_id or f"PAY{reference}"
            if event_code == "AUTHORISATION":
                item["pspReference"] = spec.transaction_id or reference
            else:
                item["originalReference"] = payment
                item["pspReference"] = spec.movement_id or reference
            items.append({"NotificationRequestItem": item})
        return codec.dumps({"live": "false", "notificationItems": items}).encode()

    def new_secret(self) -> str:
        return secrets.token_hex(32).upper()

    def reply(self, outcome: Outcome) -> Reply | None:
        return ACCEPTED


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The NotificationRequestItem objects of a notification; anything else carries no
    signature we could check, so it is refused as unsigned."""
    wrappers = body.get("notificationItems")
    if not isinstance(wrappers, list) or not wrappers:
        raise SignatureInvalid("body has no notificationItems, so nothing in it is signed")
    if len(wrappers) > MAX_BATCH_ITEMS:
        raise InvalidPayload(
            f"a batch of {len(wrappers)} notificationItems; the limit is {MAX_BATCH_ITEMS}"
        )
    items = []
    for index, wrapper in enumerate(wrappers, 1):
        item = wrapper.get("NotificationRequestItem") if isinstance(wrapper, dict) else None
        if not isinstance(item, dict):
            raise SignatureInvalid(f"notificationItems[{index}] is not a NotificationRequestItem")
        items.append(item)
    return items


def _key(secret: str) -> bytes:
    try:
        key = binascii.unhexlify(secret.strip())
    except (binascii.Error, ValueError) as exc:
        raise SecretUnavailable("the configured Adyen HMAC key is not hexadecimal") from exc
    if not key:
        raise SecretUnavailable("the configured Adyen HMAC key is empty")
    return key


def _signature(item: dict[str, Any], index: int) -> str:
    additional = item.get("additionalData")
    signature = additional.get("hmacSignature") if isinstance(additional, dict) else None
    if not isinstance(signature, str) or not signature:
        raise SignatureInvalid(f"notificationItems[{index}] has no additionalData.hmacSignature")
    return signature


def _mac(key: bytes, item: dict[str, Any], index: int) -> bytes:
    amount = item.get("amount")
    amount = amount if isinstance(amount, dict) else {}
    # value and currency are signed from the amount object, every other field from the item.
    fields = {**item, "value": amount.get("value"), "currency": amount.get("currency")}
    text = ":".join(_signed_text(fields.get(name), name, index) for name in SIGNED_FIELDS)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _signed_text(value: object, field: str, index: int) -> str:
    """A signed field as Adyen writes it into the signing string: absent is empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise SignatureInvalid(
        f"notificationItems[{index}].{field} is neither a string nor an integer, "
        "so it cannot carry Adyen's signature"
    )
