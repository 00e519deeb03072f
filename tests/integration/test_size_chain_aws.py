"""The size chain on moto: the largest body each provider may send, its text carried into the
envelope as far as the provider's adapter carries it, is stored by the Lambda receiver and
published to SNS with its attributes inside SNS's 256 KiB; one byte more is a 413 and nothing is
stored. (moto checks a message's length but not its attributes', so the test adds them up as
SNS counts them: name, data type and value.)"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.test_lambda import Deployed, url_event
from tests.oracles import oracle
from tests.support.builders import NOW
from tests.support.deliveries import PROVIDERS, Delivery
from webhook_processor import limits
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Sample


def _padded(provider: str, sample: dict[str, Any], padding: str) -> None:
    """Put ``padding`` where the adapter takes it into the envelope's metadata."""
    if provider == "stripe":
        sample["data"]["object"]["metadata"] = {"padding": padding}
    elif provider == "generic":
        sample["metadata"] = {"padding": padding}
    elif provider == "adyen":
        sample["notificationItems"][0]["NotificationRequestItem"]["merchantReference"] = padding
    elif provider == "square":
        sample["data"]["object"]["payment"]["reference_id"] = padding
    else:  # pragma: no cover - a new provider must say where its metadata comes from
        raise AssertionError(f"where does {provider} carry metadata?")


def largest_delivery(provider: str, size: int) -> Delivery:
    """A signed delivery of ``provider`` whose body is exactly ``size`` bytes."""
    adapter, signer = default_providers()[provider], oracle(provider)
    spec = Sample(adapter.event_id_prefix + "big", Decimal("12.34"), "EUR", "succeeded", NOW, 1)
    sample = json.loads(adapter.sample(spec))

    def signed(length: int) -> Delivery:
        _padded(provider, sample, "x" * length)
        body, headers = signer.sign(
            json.dumps(sample).encode(), at=NOW, secret=signer.SECRET, message_id=spec.event_id
        )
        return Delivery(provider, body, headers)

    delivery = signed(size - len(signed(0).body))
    assert len(delivery.body) == size
    return delivery


def _sns_size(message: dict[str, Any]) -> int:
    attributes = message.get("MessageAttributes", {})
    return len(message["Body"].encode()) + sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_largest_accepted_body_of_each_provider_publishes(
    provider: str, deployed: Deployed
) -> None:
    delivery = largest_delivery(provider, limits.DEFAULT_MAX_BODY_BYTES)
    status, _ = deployed.receive(url_event(provider, delivery.body, delivery.headers))
    assert status == 200
    [item] = deployed.items()
    assert deployed.publish(deployed.announcements()) == {"batchItemFailures": []}
    [message] = deployed.messages()
    assert json.loads(message["Body"])["event_id"] == item["event_id"]
    assert limits.SURE_FIT_BODY_BYTES < _sns_size(message) <= limits.SNS_MESSAGE_BYTES
    if provider in ("stripe", "generic"):  # the body's text is nearly all in the envelope
        assert _sns_size(message) > limits.DEFAULT_MAX_BODY_BYTES - 1024


@pytest.mark.parametrize("provider", PROVIDERS)
def test_one_byte_more_is_a_413_and_nothing_is_stored(provider: str, deployed: Deployed) -> None:
    delivery = largest_delivery(provider, limits.DEFAULT_MAX_BODY_BYTES + 1)
    status, answer = deployed.receive(url_event(provider, delivery.body, delivery.headers))
    assert status == 413
    assert "payload_too_large" in json.dumps(answer)
    assert deployed.items() == []


def test_a_body_under_the_limit_that_would_not_publish_is_a_413(deployed: Deployed) -> None:
    """Numbers written again take more room (``10e9`` is ``1.0E+10``): such a body is measured
    at the door, not refused by SNS after its 2xx."""
    signer = oracle("generic")
    count = (limits.DEFAULT_MAX_BODY_BYTES - 400) // 5
    body = json.dumps(
        {
            "event_id": "evt_numbers",
            "transaction_id": "txn_numbers",
            "event_type": "payment.succeeded",
            "amount": "1.00",
            "currency": "EUR",
            "status": "succeeded",
            "metadata": {"n": "__N__"},
        }
    ).replace('"__N__"', "[" + ",".join(["10e9"] * count) + "]")
    assert len(body) <= limits.DEFAULT_MAX_BODY_BYTES
    signed, headers = signer.sign(
        body.encode(), at=NOW, secret=signer.SECRET, message_id="evt_numbers"
    )
    status, answer = deployed.receive(url_event("generic", signed, headers))
    assert status == 413
    assert "would publish as about" in json.dumps(answer)
    assert deployed.items() == []
