"""Adyen, signed by the official ``Adyen`` library (PyPI ``adyen``).

Adyen signs inside the body: each NotificationRequestItem carries its own HMAC in
``additionalData.hmacSignature``, so this oracle returns the body with those filled in by
``Adyen.util.generate_notification_sig``. A body Adyen could not have signed (not JSON, no
items, an item without an amount) is returned unsigned: the processor must refuse it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from Adyen.util import generate_notification_sig, is_valid_hmac_notification

#: The HMAC key of the Adyen library's own tests (test/UtilTest.py).
SECRET = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"

HEADERS = {"Content-Type": "application/json"}


def sign(
    body: bytes, *, at: datetime, secret: str = SECRET, message_id: str = ""
) -> tuple[bytes, dict[str, str]]:
    try:
        notification = json.loads(body)
    except (ValueError, RecursionError):
        return body, dict(HEADERS)
    wrappers = notification.get("notificationItems") if isinstance(notification, dict) else None
    if not isinstance(wrappers, list):
        return body, dict(HEADERS)
    for wrapper in wrappers:
        item = wrapper.get("NotificationRequestItem") if isinstance(wrapper, dict) else None
        if isinstance(item, dict) and _signable(item):
            signature = generate_notification_sig(item, secret).decode("ascii")
            additional = item.get("additionalData")
            item["additionalData"] = {
                **(additional if isinstance(additional, dict) else {}),
                "hmacSignature": signature,
            }
    return json.dumps(notification).encode(), dict(HEADERS)


def _signable(item: dict[str, Any]) -> bool:
    """What the library can sign: it reads ``amount.value`` and ``amount.currency``."""
    amount = item.get("amount")
    return isinstance(amount, dict) and "value" in amount and "currency" in amount


def verdict(body: bytes, headers: dict[str, str], secret: str = SECRET) -> bool:
    """Whether the Adyen library (``util.is_valid_hmac_notification``) accepts the delivery.
    The library checks the first item only; the bodies given here have one."""
    try:
        return bool(is_valid_hmac_notification(json.loads(body), secret))
    except Exception:  # every exception is the library's refusal
        return False
