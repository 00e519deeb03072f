"""Adyen against the official ``Adyen`` library as the oracle, and its published test vectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from Adyen.util import generate_notification_sig, is_valid_hmac_notification

from tests.support.builders import (
    ADYEN_SECRET,
    MISSING,
    NOW,
    adyen_item,
    adyen_notification,
    encode,
    request,
    sample_event,
    sample_names,
    signed,
)
from webhook_processor.errors import (
    InvalidPayload,
    SecretUnavailable,
    SignatureInvalid,
    SignatureMismatch,
)
from webhook_processor.limits import MAX_BATCH_ITEMS
from webhook_processor.model import Disposition, Outcome, PaymentEvent
from webhook_processor.providers.adyen import EVENT_STATUS, SAMPLE_EVENTS, AdyenProvider
from webhook_processor.providers.base import Sample


def parse(notification: dict[str, Any], secret: str = ADYEN_SECRET) -> list[PaymentEvent]:
    body, headers = signed("adyen", encode(notification))
    return AdyenProvider().parse(request("adyen", body, headers), secret, NOW)


def parse_unsigned(body: bytes, secret: str = ADYEN_SECRET) -> list[PaymentEvent]:
    return AdyenProvider().parse(request("adyen", body, {}), secret, NOW)


# -- published test vectors ------------------------------------------------------------------

#: Items and signatures from the Adyen libraries' own tests: (key, item, hmacSignature).
LIBRARY_VECTORS = {
    # adyen-python-api-library test/UtilTest.py::test_notification_request_item_hmac
    "python library": (
        "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
        {
            "pspReference": "7914073381342284",
            "merchantReference": "TestPayment-1407325143704",
            "merchantAccountCode": "TestMerchant",
            "amount": {"currency": "EUR", "value": 1130},
            "eventCode": "AUTHORISATION",
            "success": "true",
            "eventDate": "2019-05-06T17:15:34.121+02:00",
            "operations": ["CANCEL", "CAPTURE", "REFUND"],
            "paymentMethod": "visa",
        },
        "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=",
    ),
    # adyen-php-api-library tests/Adyen/Util/HmacSignatureTest.php
    "php library": (
        "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00",
        {
            "pspReference": "7914073381342284",
            "merchantAccountCode": "TestMerchant",
            "merchantReference": "TestPayment-1407325143704",
            "amount": {"value": 1130, "currency": "EUR"},
            "eventCode": "AUTHORISATION",
            "success": "true",
        },
        "Ny9gS2veKo5E4w8/OL6xz1/wvT/hYkAXy1xNc/QvO4I=",
    ),
}

#: Notifications Adyen's test platform signed, with colons and slashes in the merchant
#: reference, from adyen-python-api-library test/mocks/util/*_notification.json (key below).
SIGNED_BY_ADYEN_KEY = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"
SIGNED_BY_ADYEN = {
    "backslash": (
        "T7FD4VM4D3RZNN82",
        "\\\\slashes are fun",
        "nIgT81gaB5oJpn2jPXupDq68iRo2wUlBsuYjtYfwKqo=",
    ),
    "colon": (
        "M8NB66SBZSGLNK82",
        ":slashes are fun",
        "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA=",
    ),
    "forwardslash": (
        "X3GWNS6KJ8NKGK82",
        "//slashes are fun",
        "9Z0xdpG9Xi3zcmXv14t/BvMBut77O/Xq9D4CQXSDUi4=",
    ),
    "mixed": (
        "ZVWN7D3WSMK2WN82",
        "\\:/\\/slashes are fun",
        "CZErGCNQaSsxbaQfZaJlakqo7KPP+mIa8a+wx3yNs9A=",
    ),
}


@pytest.mark.parametrize("vector", sorted(LIBRARY_VECTORS))
def test_the_adyen_libraries_published_vectors_verify(vector: str) -> None:
    key, item, signature = LIBRARY_VECTORS[vector]
    assert generate_notification_sig(item, key).decode() == signature
    body = encode(adyen_notification({**item, "additionalData": {"hmacSignature": signature}}))
    [event] = parse_unsigned(body, key)
    assert (event.event_id, event.status) == ("AUTHORISATION:7914073381342284:true", "authorized")
    assert (event.amount, event.currency) == (Decimal("11.30"), "EUR")


@pytest.mark.parametrize("name", sorted(SIGNED_BY_ADYEN))
def test_notifications_signed_by_adyen_verify_with_no_escaping(name: str) -> None:
    psp_reference, merchant_reference, signature = SIGNED_BY_ADYEN[name]
    item = {
        "additionalData": {"hmacSignature": signature, "authCode": "076181"},
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "AUTHORISATION",
        "merchantAccountCode": "AntoniStroinski",
        "merchantReference": merchant_reference,
        "paymentMethod": "visa",
        "pspReference": psp_reference,
        "success": "true",
    }
    assert is_valid_hmac_notification(item, SIGNED_BY_ADYEN_KEY)
    [event] = parse_unsigned(encode(adyen_notification(item)), SIGNED_BY_ADYEN_KEY)
    assert event.transaction_id == psp_reference
    assert event.metadata["merchant_reference"] == merchant_reference
    tampered = {**item, "merchantReference": merchant_reference + "x"}
    with pytest.raises(SignatureMismatch):
        parse_unsigned(encode(adyen_notification(tampered)), SIGNED_BY_ADYEN_KEY)


def test_adyen_signer_is_accepted_by_the_adyen_library() -> None:
    provider = AdyenProvider()
    body = provider.sample(Sample("PSP1", Decimal("12.34"), "EUR", "succeeded", NOW, items=2))
    notification = json.loads(provider.sign(body, ADYEN_SECRET, NOW, "x").body)
    for wrapper in notification["notificationItems"]:
        assert is_valid_hmac_notification(wrapper["NotificationRequestItem"], ADYEN_SECRET)
    assert len(notification["notificationItems"]) == 2


# -- batches ---------------------------------------------------------------------------------


def three_items() -> list[dict[str, Any]]:
    return [adyen_item(pspReference=f"PSP{n}", originalReference=f"PAY{n}") for n in (1, 2, 3)]


def test_every_item_of_a_batch_becomes_one_event() -> None:
    events = parse(adyen_notification(*three_items()))
    assert [e.event_id for e in events] == [f"CAPTURE:PSP{n}:true" for n in (1, 2, 3)]
    assert [e.transaction_id for e in events] == ["PAY1", "PAY2", "PAY3"]


@pytest.mark.parametrize("tampered", [0, 1, 2])
def test_one_tampered_item_refuses_the_whole_batch(tampered: int) -> None:
    body, _ = signed("adyen", encode(adyen_notification(*three_items())))
    notification = json.loads(body)
    item = notification["notificationItems"][tampered]["NotificationRequestItem"]
    item["amount"]["value"] = 1  # a signed field, changed after signing
    with pytest.raises(
        SignatureMismatch, match=rf"notificationItems\[{tampered + 1}\].*batch of 3"
    ):
        parse_unsigned(encode(notification))


def test_a_one_character_change_to_an_hmac_signature_is_refused() -> None:
    body, _ = signed("adyen", encode(adyen_notification()))
    notification = json.loads(body)
    additional = notification["notificationItems"][0]["NotificationRequestItem"]["additionalData"]
    first = additional["hmacSignature"][0]
    additional["hmacSignature"] = ("A" if first != "A" else "B") + additional["hmacSignature"][1:]
    with pytest.raises(SignatureMismatch):
        parse_unsigned(encode(notification))


def test_a_batch_larger_than_the_limit_is_refused_before_any_hmac() -> None:
    items = [adyen_item(pspReference=f"P{n}") for n in range(MAX_BATCH_ITEMS + 1)]
    with pytest.raises(InvalidPayload, match=f"the limit is {MAX_BATCH_ITEMS}"):
        parse_unsigned(encode(adyen_notification(*items)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"live": "false"}, "no notificationItems"),
        ({"notificationItems": []}, "no notificationItems"),
        ({"notificationItems": [{"Other": {}}]}, r"notificationItems\[1\] is not a Notification"),
        (adyen_notification(adyen_item()), r"notificationItems\[1\] has no additionalData"),
        (
            adyen_notification(adyen_item(additionalData={"hmacSignature": "x"}, success=True)),
            r"notificationItems\[1\]\.success is neither a string nor an integer",
        ),
        (
            adyen_notification(
                adyen_item(
                    additionalData={"hmacSignature": "x"}, amount={"value": 1.5, "currency": "EUR"}
                )
            ),
            r"notificationItems\[1\]\.value is neither",
        ),
    ],
)
def test_what_carries_no_checkable_signature_is_unsigned(
    body: dict[str, Any], message: str
) -> None:
    with pytest.raises(SignatureInvalid, match=message) as raised:
        parse_unsigned(encode(body))
    assert not isinstance(raised.value, SignatureMismatch)  # no other secret can help


@pytest.mark.parametrize("secret", ["not hex", ""])
def test_a_bad_configured_key_is_unavailable_not_a_client_error(secret: str) -> None:
    with pytest.raises(SecretUnavailable):
        parse(adyen_notification(), secret)


# -- normalisation ---------------------------------------------------------------------------


def test_a_payment_is_its_own_transaction_and_a_modification_belongs_to_the_payment() -> None:
    [auth] = parse(
        adyen_notification(adyen_item(eventCode="AUTHORISATION", originalReference=MISSING))
    )
    [capture] = parse(adyen_notification(adyen_item()))
    assert auth.transaction_id == "QFQTPCQ8HXSKGK82"
    assert capture.transaction_id == "9913140798220028"
    assert (capture.occurred_at, capture.payment_method) == (
        datetime(2021, 1, 1, 0, 0, tzinfo=UTC),
        "visa",
    )


def test_the_dedupe_key_is_event_code_psp_reference_and_success() -> None:
    [refused] = parse(adyen_notification(adyen_item(eventCode="AUTHORISATION", success="false")))
    [authorised] = parse(adyen_notification(adyen_item(eventCode="AUTHORISATION")))
    assert refused.event_id == "AUTHORISATION:QFQTPCQ8HXSKGK82:false"
    assert authorised.event_id == "AUTHORISATION:QFQTPCQ8HXSKGK82:true"
    assert (refused.status, authorised.status) == ("failed", "authorized")


@pytest.mark.parametrize(
    ("currency", "value", "expected"),
    [
        ("EUR", 1130, Decimal("11.30")),
        ("JPY", 1000, Decimal(1000)),
        ("BHD", 1, Decimal("0.001")),
        ("CLP", 150000, Decimal(1500)),  # Adyen counts CLP in hundredths, ISO has no minor unit
        ("IDR", 15000, Decimal("15000.00")),  # and IDR in whole rupiah
        ("ISK", 100000, Decimal(1000)),
    ],
)
def test_amounts_use_adyens_minor_units(currency: str, value: int, expected: Decimal) -> None:
    [event] = parse(adyen_notification(adyen_item(amount={"currency": currency, "value": value})))
    assert (event.amount, event.currency) == (expected, currency)


def test_an_unknown_or_refused_cancellation_is_acknowledged_and_not_stored() -> None:
    assert parse(adyen_notification(adyen_item(eventCode="REPORT_AVAILABLE"))) == []
    assert parse(adyen_notification(adyen_item(eventCode="CANCELLATION", success="false"))) == []


def test_a_refused_refund_is_that_refund_failed_so_it_never_counts() -> None:
    item = adyen_item(eventCode="REFUND", success="false", originalReference="PAY1")
    [event] = parse(adyen_notification(item))
    assert (event.status, event.transaction_id) == ("refund_failed", "PAY1")
    assert event.movement_id == item["pspReference"]


def test_success_must_be_true_or_false() -> None:
    with pytest.raises(InvalidPayload, match=r"success must be 'true' or 'false'"):
        parse(adyen_notification(adyen_item(success="yes")))


def test_the_reply_is_accepted_whatever_was_stored() -> None:
    for disposition in Disposition:
        reply = AdyenProvider().reply(Outcome(disposition, ()))
        assert reply is not None
        assert reply.body == b"[accepted]"


#: Each documented sample (tests/events/adyen) and the status it normalises to; None: ignored.
SAMPLE_STATUSES = {
    "AUTHORISATION": "authorized",
    "AUTHORISATION--refused": "failed",
    "AUTHORISATION_ADJUSTMENT": "authorized",
    "CAPTURE": "succeeded",
    "CAPTURE_FAILED": "capture_failed",
    "CANCELLATION": "canceled",
    "TECHNICAL_CANCEL": "canceled",
    "OFFER_CLOSED": "canceled",
    "EXPIRE": "canceled",
    "CANCEL_OR_REFUND": "canceled",
    "CANCEL_OR_REFUND--refund": "refunded",
    "REFUND": "refunded",
    "REFUND--refused": "refund_failed",
    "REFUND_FAILED": "refund_failed",
    "REFUNDED_REVERSED": "refund_failed",
    "NOTIFICATION_OF_CHARGEBACK": "disputed",
    "REQUEST_FOR_INFORMATION": "disputed",
    "CHARGEBACK": "disputed",
    "CHARGEBACK_REVERSED": "dispute_won",
    "PREARBITRATION_WON": "dispute_won",
    "SECOND_CHARGEBACK": "dispute_lost",
    "PREARBITRATION_LOST": "dispute_lost",
}


def test_every_handled_adyen_event_code_has_a_documented_sample() -> None:
    assert sorted(SAMPLE_STATUSES) == sample_names("adyen")
    assert {code for code, _ in EVENT_STATUS} <= {name.split("--")[0] for name in SAMPLE_STATUSES}


@pytest.mark.parametrize(("name", "status"), sorted(SAMPLE_STATUSES.items()))
def test_adyen_documented_events_normalise_to_their_status(name: str, status: str | None) -> None:
    body, headers = signed("adyen", sample_event("adyen", name))
    events = AdyenProvider().parse(request("adyen", body, headers), ADYEN_SECRET, NOW)
    assert [event.status for event in events] == ([status] if status else [])
    for event in events:
        refund = name in ("REFUND", "REFUND_FAILED", "REFUNDED_REVERSED")
        assert event.amount == (Decimal("5.00") if refund else Decimal("10.00"))


@pytest.mark.parametrize("status", sorted(SAMPLE_EVENTS))
def test_adyen_samples_parse_back_to_what_was_asked(status: str) -> None:
    provider = AdyenProvider()
    body = provider.sample(Sample("PSP9", Decimal("12.34"), "EUR", status, NOW, items=3))
    events = provider.parse(
        request("adyen", provider.sign(body, ADYEN_SECRET, NOW, "").body, {}), ADYEN_SECRET, NOW
    )
    assert [e.status for e in events] == [status] * 3
    assert len({e.event_id for e in events}) == 3


def test_adyen_sample_refuses_an_unknown_status() -> None:
    with pytest.raises(InvalidPayload, match="adyen samples have status"):
        AdyenProvider().sample(Sample("PSP9", Decimal(1), "USD", "pending", NOW))


def test_an_unsigned_field_of_the_wrong_type_is_a_bad_payload() -> None:
    with pytest.raises(InvalidPayload, match=r"paymentMethod must be a string or null"):
        parse(adyen_notification(adyen_item(paymentMethod=5)))
