"""The generic provider, signed by the Standard Webhooks reference library."""

from __future__ import annotations

from datetime import datetime

import standardwebhooks

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def sign(
    body: bytes, *, at: datetime, secret: str = SECRET, message_id: str = "msg_1"
) -> tuple[bytes, dict[str, str]]:
    signature = standardwebhooks.Webhook(secret).sign(message_id, at, body.decode())
    return body, {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def verdict(body: bytes, headers: dict[str, str], secret: str = SECRET) -> bool:
    """Whether the Standard Webhooks reference library accepts the delivery (any exception it
    raises is a refusal: it raises ValueError, not its own error, on some headers)."""
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
    except Exception:  # every exception is the library's refusal
        return False
    return True
