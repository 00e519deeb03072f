"""Square against the official ``squareup`` library as the oracle, and its published vectors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from square.utils.webhooks_helper import verify_signature

from tests.oracles import square as square_oracle
from tests.support.builders import (
    NOW,
    SQUARE_SECRET,
    encode,
    request,
    sample_event,
    sample_names,
    signed,
    square_event,
)
from webhook_processor.errors import (
    InvalidPayload,
    ProviderNotConfigured,
    SecretUnavailable,
    SignatureInvalid,
    SignatureMismatch,
)
from webhook_processor.model import PaymentEvent
from webhook_processor.providers.base import Sample
from webhook_processor.providers.square import EVENT_OBJECTS, SAMPLE_EVENTS, SquareProvider

# The Square SDK's own test vectors (square-python-sdk tests/integration/test_webhooks_helper.py).
SDK_BODY = b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
SDK_SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
SDK_KEY = "Ibxx_5AKakO-3qeNVR61Dw"
SDK_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"


def parse(event: dict[str, Any]) -> list[PaymentEvent]:
    body, headers = signed("square", encode(event))
    return SquareProvider().parse(request("square", body, headers), SQUARE_SECRET, NOW)


def test_the_sdks_published_vector_verifies_and_its_test_event_is_acknowledged() -> None:
    headers = {"x-square-hmacsha256-signature": SDK_SIGNATURE}
    assert SquareProvider(SDK_URL).parse(request("square", SDK_BODY, headers), SDK_KEY, NOW) == []


def test_the_sdks_escaped_vector_verifies_before_its_payload_is_read() -> None:
    body = b'{"data":{"type":"webhooks","id":">id<"}}'
    headers = {"x-square-hmacsha256-signature": "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="}
    provider = SquareProvider("https://webhook.site/webhooks")
    with pytest.raises(InvalidPayload, match=r"body\.type is missing"):
        provider.parse(request("square", body, headers), "signature-key", NOW)


@pytest.mark.parametrize(
    ("url", "key", "body"),
    [
        ("https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9", SDK_KEY, SDK_BODY),
        (SDK_URL, "MCmhFRxGX82xMwg5FsaoQA", SDK_BODY),
        (SDK_URL, SDK_KEY, SDK_BODY.replace(b"2022-07-13", b"2022-06-13")),
    ],
    ids=["url", "key", "body"],
)
def test_the_sdks_mismatch_vectors_are_refused(url: str, key: str, body: bytes) -> None:
    headers = {"x-square-hmacsha256-signature": SDK_SIGNATURE}
    assert not verify_signature(
        request_body=body.decode(),
        signature_header=SDK_SIGNATURE,
        signature_key=key,
        notification_url=url,
    )
    with pytest.raises(SignatureMismatch, match="notification URL and the body"):
        SquareProvider(url).parse(request("square", body, headers), key, NOW)


def test_the_configured_url_is_verified_not_the_one_the_request_arrived_on() -> None:
    """Behind a tunnel or proxy the request's own URL differs from the one Square signed."""
    body = encode(square_event())
    _, headers = square_oracle.sign(body, at=NOW, url="https://payments.example.com/hooks/sq")
    arrived = request("square", body, headers, url="http://10.0.0.7:8080/webhooks/square")
    [event] = SquareProvider("https://payments.example.com/hooks/sq").parse(
        arrived, SQUARE_SECRET, NOW
    )
    assert event.event_id == "6a8f5f28-54a1-4eb0"
    with pytest.raises(SignatureMismatch):
        SquareProvider(arrived.url).parse(arrived, SQUARE_SECRET, NOW)


def test_without_a_configured_url_square_is_unavailable_so_it_retries() -> None:
    body, headers = signed("square", encode(square_event()))
    with pytest.raises(ProviderNotConfigured, match="no Square notification URL"):
        SquareProvider(None).parse(request("square", body, headers), SQUARE_SECRET, NOW)


def test_a_missing_signature_header_or_key_is_said_plainly() -> None:
    body = encode(square_event())
    with pytest.raises(SignatureInvalid, match="missing x-square-hmacsha256-signature"):
        SquareProvider().parse(request("square", body, {}), SQUARE_SECRET, NOW)
    with pytest.raises(SecretUnavailable, match="signature key is empty"):
        SquareProvider().parse(
            request("square", body, {"x-square-hmacsha256-signature": "x"}), "", NOW
        )


def test_a_payment_is_normalised_from_amount_money() -> None:
    [event] = parse(
        square_event(amount_money={"amount": 1999, "currency": "USD"}, customer_id="C1")
    )
    assert (event.provider, event.event_id, event.transaction_id) == (
        "square",
        "6a8f5f28-54a1-4eb0",
        "hYy9pRFVxpDsO1FB05SunFWUe9JZY",
    )
    assert (event.amount, event.currency, event.status) == (Decimal("19.99"), "USD", "succeeded")
    assert (event.customer_id, event.payment_method) == ("C1", "CARD")
    assert event.metadata == {
        "order_id": "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
        "location_id": "S8GWD5R9QB376",
    }


@pytest.mark.parametrize(
    ("currency", "units", "expected"), [("JPY", 500, Decimal(500)), ("BHD", 5, Decimal("0.005"))]
)
def test_square_minor_units_follow_the_currency(
    currency: str, units: int, expected: Decimal
) -> None:
    [event] = parse(square_event(amount_money={"amount": units, "currency": currency}))
    assert event.amount == expected


def test_an_unknown_payment_status_or_event_type_is_acknowledged_and_not_stored() -> None:
    assert parse(square_event(status="SOMETHING_NEW")) == []
    assert parse(square_event(event_type="customer.created")) == []


#: Each documented sample (tests/events/square) and the status it normalises to; None: ignored.
SAMPLE_STATUSES = {
    "payment.created": "authorized",
    "payment.updated": "succeeded",
    "refund.created": "refund_pending",  # PENDING: owed, counted until it fails
    "refund.updated": "refunded",
    "dispute.created": "disputed",
    "dispute.state.updated": "dispute_won",
    "webhooks.test_notification": None,
}


def test_every_handled_square_event_type_has_a_documented_sample() -> None:
    assert sorted(SAMPLE_STATUSES) == sample_names("square")
    assert set(EVENT_OBJECTS) <= set(SAMPLE_STATUSES)


@pytest.mark.parametrize(("name", "status"), sorted(SAMPLE_STATUSES.items()))
def test_square_documented_events_normalise_to_their_status(name: str, status: str | None) -> None:
    body, headers = signed("square", sample_event("square", name))
    events = SquareProvider().parse(request("square", body, headers), SQUARE_SECRET, NOW)
    assert [event.status for event in events] == ([status] if status else [])


def test_a_refund_is_that_refunds_amount_on_its_payment_and_names_the_refund() -> None:
    body, headers = signed("square", sample_event("square", "refund.updated"))
    [event] = SquareProvider().parse(request("square", body, headers), SQUARE_SECRET, NOW)
    assert (event.transaction_id, event.amount) == ("KkAkhdMsgzn59SM8A89WgKwekxLZY", Decimal(10))
    assert event.metadata["refund_id"].startswith("KkAkhdMsgzn59SM8A89WgKwekxLZY_")


def test_a_dispute_belongs_to_the_disputed_payment() -> None:
    body, headers = signed("square", sample_event("square", "dispute.created"))
    [event] = SquareProvider().parse(request("square", body, headers), SQUARE_SECRET, NOW)
    assert (event.transaction_id, event.amount) == (
        "fbmsaEOpoARDKxiSGH1fqPuqoqFZY",
        Decimal("88.01"),
    )
    assert event.metadata["dispute_id"] == "ORSEVtZAJxb37RA1EiGw"


@pytest.mark.parametrize("status", sorted(SAMPLE_EVENTS))
def test_square_samples_are_accepted_by_the_sdk_and_parse_back(status: str) -> None:
    provider = SquareProvider()
    body = provider.sample(Sample("e1", Decimal("12.34"), "EUR", status, NOW))
    signature = provider.sign(body, SQUARE_SECRET, NOW, "e1").headers[
        "x-square-hmacsha256-signature"
    ]
    assert verify_signature(
        request_body=body.decode(),
        signature_header=signature,
        signature_key=SQUARE_SECRET,
        notification_url=square_oracle.NOTIFICATION_URL,
    )
    [event] = provider.parse(
        request("square", body, {"x-square-hmacsha256-signature": signature}), SQUARE_SECRET, NOW
    )
    assert (event.status, event.amount, event.transaction_id) == (status, Decimal("12.34"), "sqe1")


def test_square_sample_refuses_an_unknown_status() -> None:
    with pytest.raises(InvalidPayload, match="square samples have status"):
        SquareProvider().sample(Sample("e1", Decimal(1), "USD", "weird", NOW))


@pytest.mark.parametrize(
    ("created_at", "message"),
    [
        (5, "must be an RFC 3339 timestamp string"),
        ("yesterday", "'yesterday' is not an RFC 3339 timestamp"),
        ("2020-02-06T21:27:34", "has no UTC offset"),
        ("9999-12-31T23:59:59-23:59", "is not an RFC 3339 timestamp"),
    ],
)
def test_the_event_time_must_be_an_rfc_3339_timestamp(created_at: object, message: str) -> None:
    event = square_event()
    event["created_at"] = created_at
    with pytest.raises(InvalidPayload, match=message):
        parse(event)


def test_the_event_time_is_read_to_the_microsecond_in_utc() -> None:
    event = square_event()
    event["created_at"] = "2022-07-13T20:30:59.037339943-02:00"
    [parsed] = parse(event)
    assert parsed.occurred_at.isoformat() == "2022-07-13T22:30:59.037339+00:00"
