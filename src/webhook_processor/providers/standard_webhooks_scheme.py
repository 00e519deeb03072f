"""The Standard Webhooks signature scheme (also Svix's): a helper for the adapters that use it.

Not a provider itself (hence the name: a ``standard`` provider may come to sit beside it).

Headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64> [v1,<base64>]``;
the signature is HMAC-SHA256 over ``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded
secret after its ``whsec_`` prefix. Several signatures may be listed during a secret rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from datetime import UTC, datetime

from webhook_processor.errors import SecretUnavailable, SignatureInvalid, SignatureMismatch
from webhook_processor.model import WebhookRequest
from webhook_processor.providers.base import (
    DEFAULT_TOLERANCE_SECONDS,
    check_timestamp,
    require_header,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError as exc:  # binascii.Error, or a character that is not ASCII
        raise SecretUnavailable("the configured secret is not whsec_ followed by base64") from exc
    if not key:
        raise SecretUnavailable("the configured secret is empty")
    return key


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def verify(
    request: WebhookRequest,
    secret: str,
    now: datetime,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Verify a Standard Webhooks request and return its ``webhook-id``.

    The headers are read exactly as the reference library reads them (``standardwebhooks``'
    ``Webhook.verify``), so that it and we agree on every header: the timestamp through
    ``float()``, signed as its whole seconds; the signatures split at single spaces, each
    ``version,base64`` with exactly one comma, decoded as ``base64.b64decode`` does; in order,
    a match ends the search and a malformed entry met before one refuses the request.
    """
    message_id = require_header(request, "webhook-id")
    timestamp = _timestamp(require_header(request, "webhook-timestamp"))
    signatures = require_header(request, "webhook-signature")
    expected = _signature(secret_key(secret), message_id, str(timestamp), request.body)
    for position, entry in enumerate(signatures.split(" "), 1):
        version, comma, value = entry.partition(",")
        if not comma or "," in value:
            raise SignatureMismatch(f"webhook-signature entry {position} is not version,signature")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(value)
        except ValueError:  # binascii.Error, or a character that is not ASCII
            raise SignatureMismatch(f"webhook-signature entry {position} is not base64") from None
        if hmac.compare_digest(expected, candidate):
            break
    else:
        raise SignatureMismatch("webhook-signature does not match the body (no valid v1 entry)")
    # After the MAC: an attacker cannot learn our clock window without a valid signature.
    check_timestamp(timestamp, now, tolerance)
    return message_id


def _timestamp(text: str) -> int:
    """``webhook-timestamp`` as the library reads it: ``float()``, a ``datetime``, its floor."""
    try:
        moment = datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureInvalid(
            f"webhook-timestamp must be Unix seconds, got {text[:32]!r}"
        ) from None
    return math.floor(moment.timestamp())


def headers(body: bytes, secret: str, now: datetime, message_id: str) -> dict[str, str]:
    """The three headers that sign ``body`` as message ``message_id`` at ``now``."""
    timestamp = str(int(now.timestamp()))
    signature = base64.b64encode(_signature(secret_key(secret), message_id, timestamp, body))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + signature.decode("ascii"),
    }


def _signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> bytes:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()
