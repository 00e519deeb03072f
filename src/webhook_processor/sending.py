"""Test deliveries signed exactly as a provider signs them: ``webhook-processor send`` and the
inspector's "send test event" form both build theirs here.

A delivery is a sample body of the provider's own shape (or a file's bytes), signed with the
provider's current secret (the first of its active ones) the way the provider signs, with the
headers the provider sends. Nothing here sends it: ``send`` POSTs it over HTTP, the inspector
hands it to the same pipeline the webhook route runs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from webhook_processor.pipeline import SecretSource
from webhook_processor.providers.base import Provider, Sample


@dataclass(frozen=True, slots=True)
class SignedDelivery:
    """A signed delivery: its event id, the bytes and the headers to POST."""

    event_id: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class SampleChoice:
    """What a person chooses about a test event (``send``'s options, the form's fields)."""

    amount: Decimal = Decimal("19.99")
    currency: str = "USD"
    status: str = "succeeded"
    #: Events in the one delivery, for providers that batch.
    items: int = 1
    #: The transaction the event belongs to; None: a new one.
    transaction_id: str | None = None
    #: The refund the event reports (to fail one sent before); None: a new one.
    refund_id: str | None = None


def signed_delivery(
    provider: Provider,
    secret_source: SecretSource,
    now: datetime,
    choice: SampleChoice,
    *,
    event_id: str | None = None,
    body: bytes | None = None,
) -> SignedDelivery:
    """A delivery of ``provider`` signed with its current secret: a sample built from
    ``choice``, or ``body`` as given. Raises the provider's InvalidPayload or InvalidAmount
    for a choice its samples cannot express, SecretUnavailable if no secret can be read."""
    secret = secret_source.active(provider.name)[0]
    event_id = event_id or provider.event_id_prefix + secrets.token_hex(12)
    if body is None:
        spec = Sample(
            event_id,
            choice.amount,
            choice.currency,
            choice.status,
            now,
            choice.items,
            choice.transaction_id,
            movement_id=choice.refund_id,
        )
        body = provider.sample(spec)
    signed = provider.sign(body, secret, now, event_id)
    return SignedDelivery(
        event_id, signed.body, {"Content-Type": "application/json", **signed.headers}
    )
