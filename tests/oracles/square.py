"""Square, checked by the official ``squareup`` library.

Square's SDK verifies and does not sign, so this oracle computes the signature exactly as
Square's documentation states (base64 HMAC-SHA256, keyed with the UTF-8 signature key, over the
notification URL followed by the body) and has ``square.utils.webhooks_helper.verify_signature``
confirm it before returning it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from square.utils.webhooks_helper import verify_signature

#: The signature key of the Square SDK's own tests (tests/integration/test_webhooks_helper.py).
SECRET = "Ibxx_5AKakO-3qeNVR61Dw"
#: The URL the local processor verifies against unless configured otherwise.
NOTIFICATION_URL = "http://127.0.0.1:8080/webhooks/square"


def sign(
    body: bytes,
    *,
    at: datetime,
    secret: str = SECRET,
    message_id: str = "",
    url: str = NOTIFICATION_URL,
) -> tuple[bytes, dict[str, str]]:
    mac = hmac.new(secret.encode("utf-8"), url.encode("utf-8") + body, hashlib.sha256)
    signature = base64.b64encode(mac.digest()).decode("ascii")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = ""  # the library takes text only; such bytes are signed all the same
    if text:
        assert verify_signature(
            request_body=text,
            signature_header=signature,
            signature_key=secret,
            notification_url=url,
        ), "the Square SDK refuses the oracle's signature"
    return body, {"x-square-hmacsha256-signature": signature, "Content-Type": "application/json"}


def verdict(
    body: bytes, headers: dict[str, str], secret: str = SECRET, url: str = NOTIFICATION_URL
) -> bool:
    """Whether Square's SDK (``webhooks_helper.verify_signature``) accepts the delivery."""
    header = {name.lower(): value for name, value in headers.items()}.get(
        "x-square-hmacsha256-signature"
    )
    try:
        return verify_signature(
            request_body=body.decode(),
            signature_header=header,  # type: ignore[arg-type] - None is the library's refusal
            signature_key=secret,
            notification_url=url,
        )
    except Exception:  # every exception is the library's refusal
        return False
