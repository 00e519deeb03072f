"""The same deliveries for every registered provider, to run through each HTTP edge (the local
server, the Lambda receiver) and compare what they answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from tests.oracles import oracle
from tests.support.builders import NOW, request, sample_event, sample_names
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Sample

PROVIDERS = sorted(default_providers())


@dataclass(frozen=True)
class Delivery:
    label: str
    body: bytes
    headers: dict[str, str]


def signed_sample(
    provider: str, event_id: str = "s1", *, secret: str | None = None, items: int = 1
) -> Delivery:
    """A sample of 12.34 EUR, signed by the provider's own library (with its test secret)."""
    adapter, signer = default_providers()[provider], oracle(provider)
    spec = Sample(
        adapter.event_id_prefix + event_id, Decimal("12.34"), "EUR", "succeeded", NOW, items
    )
    body, headers = signer.sign(
        adapter.sample(spec),
        at=NOW,
        secret=signer.SECRET if secret is None else secret,
        message_id=spec.event_id,
    )
    return Delivery(f"{provider} {event_id}", body, headers)


@cache
def ignored_sample(provider: str) -> Delivery | None:
    """A documented, authentic event of a type the provider's adapter does not normalise."""
    adapter, signer = default_providers()[provider], oracle(provider)
    for name in sample_names(provider):
        body, headers = signer.sign(
            sample_event(provider, name), at=NOW, secret=signer.SECRET, message_id="msg_ignored"
        )
        if adapter.parse(request(provider, body, headers), signer.SECRET, NOW) == []:
            return Delivery(f"{provider} {name}", body, headers)
    return None


def deliveries(provider: str) -> list[Delivery]:
    """Accepted, redelivered (duplicate), tampered (401), unsigned (401), another type (ignored)."""
    valid = signed_sample(provider)
    tampered = Delivery("tampered", valid.body.replace(b"s1", b"s2"), valid.headers)
    unsigned = Delivery(
        "unsigned", signed_sample(provider, "u1").body, {"Content-Type": "application/json"}
    )
    if provider == "adyen":  # Adyen signs inside the body: strip the signatures instead
        notification = json.loads(unsigned.body)
        for wrapper in notification["notificationItems"]:
            del wrapper["NotificationRequestItem"]["additionalData"]
        unsigned = Delivery("unsigned", json.dumps(notification).encode(), unsigned.headers)
    ignored = ignored_sample(provider)
    return [valid, valid, tampered, unsigned, *([ignored] if ignored else [])]


#: A second active secret per provider, and one that is not active, for rotation tests.
NEW_SECRETS = {name: adapter.new_secret() for name, adapter in default_providers().items()}
STRANGER_SECRETS = {name: adapter.new_secret() for name, adapter in default_providers().items()}


def rotating_secrets() -> dict[str, str]:
    """Each provider's configured value while its secret rotates: the new one, then the old."""
    return {name: f"{NEW_SECRETS[name]},{oracle(name).SECRET}" for name in PROVIDERS}
