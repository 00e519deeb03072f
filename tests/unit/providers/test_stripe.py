"""Stripe against the official ``stripe`` SDK as the oracle."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
import stripe

from tests.support.builders import (
    NOW,
    STRIPE_SECRET,
    encode,
    request,
    sample_event,
    sample_names,
    signed,
    stripe_event,
)
from webhook_processor.errors import InvalidPayload, SignatureInvalid, SignatureMismatch
from webhook_processor.model import PaymentEvent, PaymentStatus
from webhook_processor.providers.base import Sample
from webhook_processor.providers.stripe import (
    EVENT_STATUS,
    REFUND_EVENTS,
    SAMPLE_EVENTS,
    StripeProvider,
)


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


def test_stripe_charge_belongs_to_its_payment_intent() -> None:
    [event] = parse_stripe(
        stripe_event(
            event_type="charge.succeeded",
            id="ch_1",
            object="charge",
            payment_intent="pi_9",
            amount=5000,
            customer={"id": "cus_9", "object": "customer"},
        )
    )
    assert (event.transaction_id, event.status, event.amount) == ("pi_9", "succeeded", Decimal(50))
    assert event.customer_id == "cus_9"


def test_a_refund_event_is_that_refund_and_charge_refunded_is_the_running_total() -> None:
    """refund.created, one per refund, carries the refund's own amount and id; charge.refunded
    carries the charge's amount_refunded, which is never one refund."""
    refund = stripe_event(
        event_type="refund.created", id="re_1", object="refund", amount=1500, charge="ch_1"
    )
    refund["data"]["object"]["payment_intent"] = "pi_9"
    [event] = parse_stripe(refund)
    assert (event.transaction_id, event.status, event.amount) == ("pi_9", "refunded", Decimal(15))
    assert (event.movement_id, event.refunded_total) == ("re_1", None)
    running_total = stripe_event(
        event_type="charge.refunded", id="ch_1", object="charge", amount=5000, amount_refunded=3000
    )
    [total] = parse_stripe(running_total)
    assert (total.status, total.movement_id, total.refunded_total) == ("refunded", None, 30)


@pytest.mark.parametrize(
    ("api_version", "refunded"),
    [("2024-06-20", Decimal(10)), ("2025-03-31.basil", Decimal(30)), (None, Decimal(30))],
)
def test_the_remainder_of_a_partial_capture_is_no_refund(
    api_version: str | None, refunded: Decimal
) -> None:
    """Before 2025-03-31.basil a partial capture refunded the uncaptured remainder: Stripe
    counted it in amount_refunded, though no money went back to the customer."""
    charge = stripe_event(
        event_type="charge.refunded", id="ch_1", object="charge", amount=5000, amount_refunded=3000
    )
    charge["data"]["object"] |= {"captured": True, "amount_captured": 3000}
    charge["api_version"] = api_version
    [event] = parse_stripe(charge)
    assert event.refunded_total == refunded


def test_both_api_shapes_of_charge_refunded_give_the_same_running_total() -> None:
    """Before 2022-11-15 the charge lists (the first page of) its refunds; since, it does not.
    amount_refunded is the whole total in both, so it is the one figure taken."""
    modern = stripe_event(
        event_type="charge.refunded", id="ch_1", object="charge", amount=5000, amount_refunded=3000
    )
    listed = copy.deepcopy(modern)
    listed["api_version"] = "2020-08-27"
    listed["data"]["object"]["refunds"] = {
        "object": "list",
        "data": [{"id": "re_1", "object": "refund", "amount": 3000, "status": "succeeded"}],
        "has_more": False,
        "total_count": 1,
    }
    [one], [other] = parse_stripe(modern), parse_stripe(listed)
    assert one.refunded_total == other.refunded_total == Decimal(30)


@pytest.mark.parametrize(
    ("status", "normalised"),
    [
        ("pending", "refund_pending"),
        ("requires_action", "refund_pending"),
        ("succeeded", "refunded"),
        ("failed", "refund_failed"),
        ("canceled", "refund_canceled"),
    ],
)
def test_a_refund_events_status_is_its_refunds_status(status: str, normalised: str) -> None:
    for event_type in ("refund.created", "refund.updated", "charge.refund.updated"):
        refund = stripe_event(event_type=event_type, id="re_1", object="refund", charge="ch_1")
        refund["data"]["object"]["status"] = status
        [event] = parse_stripe(refund)
        assert event.status == normalised


def test_a_refund_in_an_unknown_status_is_refused() -> None:
    refund = stripe_event(event_type="refund.updated", id="re_1", object="refund", charge="ch_1")
    refund["data"]["object"]["status"] = "teleported"
    with pytest.raises(InvalidPayload, match="no refund status"):
        parse_stripe(refund)


def test_stripe_refund_of_a_charge_without_an_intent_belongs_to_the_charge() -> None:
    refund = stripe_event(event_type="refund.created", id="re_1", object="refund", charge="ch_7")
    refund["data"]["object"]["payment_intent"] = None
    [event] = parse_stripe(refund)
    assert event.transaction_id == "ch_7"
    del refund["data"]["object"]["charge"]
    with pytest.raises(InvalidPayload, match="names neither a payment_intent nor a charge"):
        parse_stripe(refund)


#: Each documented sample (tests/events/stripe) and the status it normalises to; None: ignored.
SAMPLE_STATUSES = {
    "payment_intent.created": "pending",
    "payment_intent.processing": "pending",
    "payment_intent.requires_action": "pending",
    "payment_intent.partially_funded": "pending",
    "payment_intent.amount_capturable_updated": "authorized",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "canceled",
    "charge.pending": "pending",
    "charge.succeeded": "succeeded",
    "charge.succeeded--uncaptured": "authorized",
    "charge.captured": "succeeded",
    "charge.failed": "failed",
    "charge.expired": "canceled",
    "refund.created": "refunded",
    "refund.created--pending": "refund_pending",
    "refund.updated": "refunded",
    "refund.failed": "refund_failed",
    "charge.refund.updated": "refund_failed",
    "charge.refunded": "refunded",
    "charge.dispute.created": "disputed",
    "charge.dispute.updated": "disputed",
    "charge.dispute.funds_withdrawn": "disputed",
    "charge.dispute.funds_reinstated": "dispute_won",
    "charge.dispute.closed": "dispute_won",
    "charge.dispute.closed--lost": "dispute_lost",
}


def test_every_handled_stripe_event_type_has_a_documented_sample() -> None:
    assert sorted(SAMPLE_STATUSES) == sample_names("stripe")
    assert set(EVENT_STATUS) <= {name.split("--")[0] for name in SAMPLE_STATUSES}


@pytest.mark.parametrize(("name", "status"), sorted(SAMPLE_STATUSES.items()))
def test_stripe_documented_events_normalise_to_their_status(name: str, status: str | None) -> None:
    body, headers = signed("stripe", sample_event("stripe", name))
    events = StripeProvider().parse(request("stripe", body, headers), STRIPE_SECRET, NOW)
    assert [event.status for event in events] == ([status] if status else [])
    for event in events:
        # One payment throughout the samples: every event lists under its PaymentIntent.
        assert event.transaction_id == "pi_1PgafyB7WZ01zgkWSjxsAJo3"
        refund = event.event_type in REFUND_EVENTS
        assert event.amount == (Decimal("5.00") if refund else Decimal("10.99"))
        assert event.movement_id == ("re_1Pgc72B7WZ01zgkWqPvrRrPE" if refund else None)


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


@pytest.mark.parametrize("status", sorted(SAMPLE_EVENTS))
def test_stripe_samples_parse_back_to_what_was_asked(status: str) -> None:
    provider = StripeProvider()
    body = provider.sample(Sample("evt_s", Decimal("12.34"), "EUR", status, NOW))
    headers = provider.sign(body, STRIPE_SECRET, NOW, "evt_s").headers
    assert stripe.WebhookSignature.verify_header(
        body.decode(), headers["Stripe-Signature"], STRIPE_SECRET, tolerance=None
    )
    [event] = provider.parse(request("stripe", body, headers), STRIPE_SECRET, NOW)
    # refunded_total is charge.refunded: a refund status, with the charge's running total.
    expected = "refunded" if status == "refunded_total" else status
    assert (event.event_id, event.amount, event.currency, event.status) == (
        "evt_s",
        Decimal("12.34"),
        "EUR",
        expected,
    )


def test_stripe_sample_refuses_an_unknown_status() -> None:
    with pytest.raises(InvalidPayload, match="stripe samples have status"):
        StripeProvider().sample(Sample("evt_s", Decimal(1), "USD", "weird", NOW))


def test_the_stripe_librarys_test_payload_verifies_when_the_library_signs_it() -> None:
    """stripe-python tests/test_webhook.py: DUMMY_WEBHOOK_PAYLOAD and DUMMY_WEBHOOK_SECRET. The
    signature passes; the payload itself (no type) is then refused as a bad payload, not 401."""
    payload = (
        '{\n  "id": "evt_test_webhook",\n  "object": "event",\n'
        '  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}'
    )
    header = stripe.WebhookSignature.generate_signature_header(
        payload, "whsec_test_secret", timestamp=int(NOW.timestamp())
    )
    headers = {"Stripe-Signature": header}
    with pytest.raises(InvalidPayload, match=r"body\.type is missing"):
        StripeProvider().parse(
            request("stripe", payload.encode(), headers), "whsec_test_secret", NOW
        )
    with pytest.raises(SignatureMismatch):
        StripeProvider().parse(
            request("stripe", payload.encode(), headers), "whsec_test_secreT", NOW
        )


def test_cancelling_an_uncaptured_charge_refunds_nothing() -> None:
    """Before 2025-03-31 cancelling an uncaptured charge sent charge.refunded with the whole
    amount in amount_refunded: no money was taken, so none went back."""
    charge = stripe_event(
        event_type="charge.refunded", id="ch_1", object="charge", amount=1000, amount_refunded=1000
    )
    charge["data"]["object"] |= {"captured": False, "amount_captured": 0}
    charge["api_version"] = "2024-06-20"
    [event] = parse_stripe(charge)
    assert event.refunded_total == 0


def test_a_charge_refunded_without_its_total_is_refused() -> None:
    charge = stripe_event(event_type="charge.refunded", id="ch_1", object="charge")
    with pytest.raises(InvalidPayload, match="amount_refunded is missing"):
        parse_stripe(charge)


def test_a_refund_update_of_a_charge_without_an_intent_belongs_to_the_charge() -> None:
    for event_type in ("refund.updated", "charge.refund.updated", "refund.failed"):
        refund = stripe_event(event_type=event_type, id="re_9", object="refund", charge="ch_9")
        refund["data"]["object"]["payment_intent"] = None
        [event] = parse_stripe(refund)
        assert (event.transaction_id, event.movement_id) == ("ch_9", "re_9")
