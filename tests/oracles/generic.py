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
