"""The books against a Stripe others wrote: localstripe, a stateful Stripe emulator, driven with
the official ``stripe`` library on loopback, its signed webhooks sent to the local server.

Each test makes payments through the Stripe API, lets localstripe deliver its webhooks to
``webhook-processor serve``, and asserts that the processor's transaction says what the API says
about the same objects: the amount, the status, what was captured and what was refunded.

localstripe emits ``payment_intent.succeeded`` and ``payment_intent.payment_failed``, and no
event for a charge or a refund. The refund tests therefore build those events from the objects
the API returns (``stripe.Refund`` and ``stripe.Charge``, in localstripe's own shape, API version
2017-08-15 whose charges list their refunds), sign them with the official library and post them
to the same server, as Stripe would: ``refund.created`` per refund, ``charge.refunded`` with the
charge. Refund failures, which localstripe cannot make, are covered by the documented payloads
in ``tests/events/stripe`` (``refund.failed``, ``charge.refund.updated``).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests.integration.conftest import Server
from tests.oracles import stripe as stripe_oracle

SECRET = stripe_oracle.SECRET
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
#: A card localstripe declines when it is charged (its own test card list).
DECLINED = "pm_card_chargeCustomerFail"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, localstripe: str) -> Iterator[Server]:
    """``serve`` with Stripe's signing secret, and localstripe sending it every event."""
    monkeypatch.setenv("WEBHOOK_SECRET_STRIPE", SECRET)
    running = Server(tmp_path)
    running.start()
    stripe.api_base = localstripe
    stripe.api_key = "sk_test_localstripe"
    stripe.max_network_retries = 0  # localstripe ignores idempotency keys
    form = urllib.parse.urlencode({"url": f"{running.url}/webhooks/stripe", "secret": SECRET})
    urllib.request.urlopen(
        f"{localstripe}/_config/webhooks/processor", data=form.encode(), timeout=5
    ).close()
    yield running
    running.stop()


def _card() -> str:
    customer = stripe.Customer.create(email="payer@example.com")
    method = stripe.PaymentMethod.create(type="card", card=CARD)
    return str(stripe.PaymentMethod.attach(method.id, customer=customer.id).id)


def _transaction(server: Server, intent: str, events: int, timeout: float = 20) -> dict[str, Any]:
    """``transaction INTENT --json`` once it lists ``events`` events."""
    deadline = time.monotonic() + timeout
    while True:
        done = server.cli("transaction", intent, "--json")
        if done.returncode == 0:
            answer: dict[str, Any] = json.loads(done.stdout, parse_float=Decimal)
            if len(answer["timeline"]) >= events or time.monotonic() > deadline:
                return answer
        elif time.monotonic() > deadline:
            raise AssertionError(f"no transaction {intent}: {done.stderr}")
        time.sleep(0.1)


def _minor(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def _deliver(server: Server, event_type: str, obj: Any) -> None:
    """An event of ``obj`` (a localstripe object), signed as Stripe signs, posted to the server."""
    created = int(datetime.now(UTC).timestamp())
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2017-08-15",  # localstripe's objects' shape
        "created": created,
        "data": {"object": obj.to_dict()},
        "livemode": False,
        "type": event_type,
    }
    body, headers = stripe_oracle.sign(
        json.dumps(event).encode(), at=datetime.fromtimestamp(created, UTC)
    )
    request = urllib.request.Request(
        f"{server.url}/webhooks/stripe", data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_a_payment_stands_as_the_api_says(server: Server) -> None:
    intent = stripe.PaymentIntent.create(
        amount=2000, currency="eur", payment_method=_card(), confirm=True
    )
    stored = _transaction(server, intent.id, 1)["transaction"]
    charge = intent.latest_charge
    assert intent.status == "succeeded"
    assert stored["status"] == "succeeded"
    assert (stored["amount"], stored["currency"]) == (_minor(intent.amount), "EUR")
    assert stored["authorized"] == _minor(intent.amount)
    assert stored["captured"] == _minor(charge["amount"] - charge["amount_refunded"])
    assert stored["refunded"] == _minor(charge["amount_refunded"]) == 0


def test_a_partial_capture_stands_as_the_api_says(server: Server) -> None:
    """localstripe, as Stripe's API versions before 2025-03-31, refunds the uncaptured
    remainder: what was captured is the charge's amount less it."""
    intent = stripe.PaymentIntent.create(
        amount=2000, currency="eur", payment_method=_card(), capture_method="manual", confirm=True
    )
    intent = stripe.PaymentIntent.capture(intent.id, amount_to_capture=1500)
    charge = stripe.Charge.retrieve(intent.latest_charge["id"])
    stored = _transaction(server, intent.id, 1)["transaction"]
    assert (intent.status, stored["status"]) == ("succeeded", "succeeded")
    assert stored["authorized"] == _minor(intent.amount) == Decimal("20.00")
    assert stored["captured"] == _minor(charge.amount - charge.amount_refunded) == Decimal("15.00")
    assert stored["amount"] == Decimal("15.00")


def test_a_declined_payment_stands_as_the_api_says(server: Server) -> None:
    customer = stripe.Customer.create(email="payer@example.com")
    with pytest.raises(stripe.CardError) as declined:
        stripe.PaymentIntent.create(
            amount=900, currency="eur", customer=customer.id, payment_method=DECLINED, confirm=True
        )
    charge = stripe.Charge.retrieve(declined.value.json_body["error"]["charge"])
    intent = stripe.PaymentIntent.retrieve(charge.payment_intent)
    stored = _transaction(server, intent.id, 1)["transaction"]
    assert intent.status == "requires_payment_method"  # Stripe's state of a failed attempt
    assert stored["status"] == "failed"
    assert (stored["amount"], stored["captured"], stored["refunded"]) == (
        Decimal("9.00"),
        0,
        0,
    )


@pytest.mark.parametrize("reported_by", ["refund.created", "charge.refunded", "both"])
def test_refunds_partial_then_full_stand_as_the_api_says(server: Server, reported_by: str) -> None:
    """Refunded in two steps (5.00, then the rest of 20.00), reported as an integration that
    listens to ``refund.created``, to ``charge.refunded``, or to both would hear them."""
    intent = stripe.PaymentIntent.create(
        amount=2000, currency="eur", payment_method=_card(), confirm=True
    )
    _transaction(server, intent.id, 1)
    delivered = 1
    for amount in (500, 1500):
        refund = stripe.Refund.create(payment_intent=intent.id, amount=amount)
        charge = stripe.Charge.retrieve(refund.charge)
        if reported_by in ("refund.created", "both"):
            _deliver(server, "refund.created", refund)
            delivered += 1
        if reported_by in ("charge.refunded", "both"):
            _deliver(server, "charge.refunded", charge)
            delivered += 1
        answer = _transaction(server, intent.id, delivered)
        stored = answer["transaction"]
        assert stored["refunded"] == _minor(charge.amount_refunded)
        assert stored["status"] == ("refunded" if charge.refunded else "partially_refunded")
    assert stored["refunded"] == Decimal("20.00")
    assert stored["captured"] == _minor(charge.amount)
    refunds = {r.id: r for r in stripe.Refund.list(payment_intent=intent.id).data}
    movements = {m["movement_id"]: m for m in answer["movements"]}
    if reported_by == "charge.refunded":
        assert movements == {}  # the running total alone: no refund was reported by id
    else:
        assert set(movements) == set(refunds)
        for refund_id, refund in refunds.items():
            assert movements[refund_id]["amount"] == _minor(refund.amount)
            assert movements[refund_id]["status"] == refund.status == "succeeded"
