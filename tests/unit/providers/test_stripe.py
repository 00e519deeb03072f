"""Stripe against the official ``stripe`` SDK as the oracle."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import stripe

from tests.builders import (
    NOW,
    STRIPE_SECRET,
    encode,
    request,
    signed,
    stripe_event,
)
from webhook_processor.errors import InvalidPayload, SignatureInvalid
from webhook_processor.model import PaymentEvent, PaymentStatus
from webhook_processor.providers.base import Sample
from webhook_processor.providers.stripe import StripeProvider


def parse_stripe(event: dict[str, object]) -> list[PaymentEvent]:
    body, headers = signed("stripe", encode(event))
    return StripeProvider().parse(request("stripe", body, headers), STRIPE_SECRET, NOW)


def test_stripe_signer_is_accepted_by_the_stripe_sdk() -> None:
    body = encode(stripe_event())
    signed = StripeProvider().sign(body, STRIPE_SECRET, NOW, "evt_1")
    assert signed.body == body
    assert stripe.WebhookSignature.verify_header(
        body.decode(), signed.headers["Stripe-Signature"], STRIPE_SECRET, tolerance=None
    )


def test_stripe_any_v1_may_match_during_secret_rotation() -> None:
    body = encode(stripe_event())
    good = StripeProvider().sign(body, STRIPE_SECRET, NOW, "x").headers["Stripe-Signature"]
    t, v1 = good.split(",")
    rotated = f"{t},v1={'a' * 64},{v1},v0={'b' * 64}"
    events = StripeProvider().parse(
        request("stripe", body, {"stripe-signature": rotated}), STRIPE_SECRET, NOW
    )
    assert [e.event_id for e in events] == ["evt_1"]


def test_stripe_tampered_body_is_rejected() -> None:
    body, headers = signed("stripe", encode(stripe_event(amount=1999)))
    tampered = body.replace(b"1999", b"1")
    with pytest.raises(SignatureInvalid, match="does not match"):
        StripeProvider().parse(request("stripe", tampered, headers), STRIPE_SECRET, NOW)


def test_stripe_payment_intent_is_normalised() -> None:
    [event] = parse_stripe(stripe_event(amount=1999))
    assert (event.provider, event.event_id, event.transaction_id) == ("stripe", "evt_1", "pi_1")
    assert (event.amount, event.currency, event.status) == (Decimal("19.99"), "USD", "succeeded")
    assert (event.customer_id, event.payment_method) == ("cus_1", "pm_1")
    assert event.metadata == {"order": "42"}
    assert event.occurred_at == NOW - timedelta(seconds=5)


def test_stripe_charge_belongs_to_its_payment_intent_and_refund_uses_refunded_amount() -> None:
    [event] = parse_stripe(
        stripe_event(
            event_type="charge.refunded",
            id="ch_1",
            object="charge",
            payment_intent="pi_9",
            amount=5000,
            amount_refunded=1500,
            customer={"id": "cus_9", "object": "customer"},
        )
    )
    assert (event.transaction_id, event.status, event.amount) == (
        "pi_9",
        "refunded",
        Decimal("15.00"),
    )
    assert event.customer_id == "cus_9"


def test_stripe_charge_without_payment_intent_is_its_own_transaction() -> None:
    [event] = parse_stripe(stripe_event(event_type="charge.failed", id="ch_2", payment_intent=None))
    assert (event.transaction_id, event.status) == ("ch_2", PaymentStatus.FAILED)


@pytest.mark.parametrize(
    ("currency", "units", "expected"),
    [("jpy", 1000, Decimal(1000)), ("bhd", 1, Decimal("0.001")), ("isk", 100000, Decimal(1000))],
)
def test_stripe_minor_units_follow_the_currency(
    currency: str, units: int, expected: Decimal
) -> None:
    [event] = parse_stripe(stripe_event(amount=units, currency=currency))
    assert event.amount == expected


def test_stripe_event_without_id_is_invalid_even_if_ignored_type() -> None:
    event = stripe_event(event_type="customer.created")
    del event["id"]
    with pytest.raises(InvalidPayload, match=r"body\.id is missing"):
        parse_stripe(event)


@pytest.mark.parametrize("status", ["succeeded", "failed", "canceled", "pending", "refunded"])
def test_stripe_samples_parse_back_to_what_was_asked(status: str) -> None:
    provider = StripeProvider()
    body = provider.sample(Sample("evt_s", Decimal("12.34"), "EUR", status, NOW))
    headers = provider.sign(body, STRIPE_SECRET, NOW, "evt_s").headers
    assert stripe.WebhookSignature.verify_header(
        body.decode(), headers["Stripe-Signature"], STRIPE_SECRET, tolerance=None
    )
    [event] = provider.parse(request("stripe", body, headers), STRIPE_SECRET, NOW)
    assert (event.event_id, event.amount, event.currency, event.status) == (
        "evt_s",
        Decimal("12.34"),
        "EUR",
        status,
    )


def test_stripe_sample_refuses_an_unknown_status() -> None:
    with pytest.raises(InvalidPayload, match="stripe samples have status"):
        StripeProvider().sample(Sample("evt_s", Decimal(1), "USD", "weird", NOW))
