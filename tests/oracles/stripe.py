"""Stripe, signed by the official ``stripe`` SDK."""

from __future__ import annotations

from datetime import datetime

import stripe

SECRET = "whsec_test_5f2b9c0d1e2f3a4b5c6d7e8f"


def sign(
    body: bytes, *, at: datetime, secret: str = SECRET, message_id: str = ""
) -> tuple[bytes, dict[str, str]]:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=int(at.timestamp())
    )
    return body, {"Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8"}


def verdict(body: bytes, headers: dict[str, str], secret: str = SECRET) -> bool:
    """Whether ``stripe-python`` accepts the delivery (any exception it raises is a refusal:
    it raises TypeError, not its own error, on some headers)."""
    header = {name.lower(): value for name, value in headers.items()}.get("stripe-signature")
    try:
        return bool(
            stripe.WebhookSignature.verify_header(body.decode(), header, secret, tolerance=300)
        )
    except Exception:  # every exception is the library's refusal
        return False
