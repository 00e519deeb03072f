"""Signature headers read as the providers' own libraries read them, case by case.

Each case comes from reading the library's parsing code, and each asserts two things: the
verdict the library gives (so a change in the library shows here) and that the processor gives
the same one. Repeated headers reach the processor as separate header lines and the library as
one value joined with commas, as a Lambda Function URL joins them (payload format 2.0).

- stripe-python ``WebhookSignature``: entries split at ``,``, each at its first two ``=``; keys
  compared exactly; the first ``t`` read by ``int()`` and signed as ``%d``; any ``v1`` in order;
  a bare ``t`` or ``v1`` entry, or a non-ASCII ``v1`` before a match, refuses.
- ``standardwebhooks`` ``Webhook.verify``: the timestamp through ``float()`` and floored; the
  signatures split at single spaces, each ``version,base64`` with one comma (else ValueError),
  decoded by a lenient ``b64decode``; in order, a match ends the search.
- Square's ``webhooks_helper.verify_signature``: the header's exact UTF-8 bytes.
- Adyen's ``util.is_valid_hmac_notification``: ``additionalData.hmacSignature`` compared as is.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.oracles import adyen as adyen_oracle
from tests.oracles import generic as generic_oracle
from tests.oracles import square as square_oracle
from tests.oracles import stripe as stripe_oracle
from tests.support.builders import encode, stripe_event
from webhook_processor.errors import SignatureInvalid
from webhook_processor.model import WebhookRequest, utc_now
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Sample, parse_signed

NOW = utc_now()
T = int(NOW.timestamp())
EARLIER = T - 10
Headers = Sequence[tuple[str, str]]


def ours(provider: str, body: bytes, headers: Headers, secret: str) -> bool:
    adapter = default_providers()[provider]
    request = WebhookRequest.build(provider, list(headers), body, NOW)
    try:
        parse_signed(adapter, request, (secret,), NOW)
    except SignatureInvalid:
        return False
    return True


def sample_body(provider: str) -> bytes:
    adapter = default_providers()[provider]
    spec = Sample(adapter.event_id_prefix + "x1", Decimal("12.34"), "EUR", "succeeded", NOW)
    return adapter.sample(spec)


def joined(headers: Headers) -> dict[str, str]:
    """The headers as a Function URL hands them over: names lower-cased, repeats comma-joined."""
    found: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        found[key] = f"{found[key]},{value}" if key in found else value
    return found


# -- Stripe ---------------------------------------------------------------------------------

STRIPE_BODY = encode(stripe_event())


def stripe_v1(at: int, body: bytes = STRIPE_BODY) -> str:
    header = stripe_oracle.stripe.WebhookSignature.generate_signature_header(
        body.decode(), stripe_oracle.SECRET, timestamp=at
    )
    return header.split(",v1=")[1]


S = stripe_v1(T)
S_EARLIER = stripe_v1(EARLIER)
BOGUS_HEX = "0" * 64

STRIPE_CASES = {
    "one t and one v1": ([f"t={T},v1={S}"], True),
    "a bogus v1 before the valid one (rotation)": ([f"t={T},v1={BOGUS_HEX},v1={S}"], True),
    "a second t is ignored": ([f"t={T},v1={S},t={EARLIER}"], True),
    "the first t is the one signed": ([f"t={EARLIER},v1={S},t={T}"], False),
    "two headers, valid then bogus": ([f"t={T},v1={S}", f"t={T},v1={BOGUS_HEX}"], True),
    "two headers, bogus then valid": ([f"t={T},v1={BOGUS_HEX}", f"t={T},v1={S}"], True),
    "two valid headers of different times": (
        [f"t={T},v1={S}", f"t={EARLIER},v1={S_EARLIER}"],
        True,
    ),
    "two headers, the first of another time, its v1 bogus": (
        [f"t={EARLIER},v1={BOGUS_HEX}", f"t={T},v1={S}"],
        False,
    ),
    "joined with comma-space: the second entry's key is ' t'": (
        [f"t={T},v1={BOGUS_HEX}, t={T}, v1={S}"],
        False,
    ),
    "a space before v1": ([f"t={T}, v1={S}"], False),
    "a space before t": ([f" t={T},v1={S}"], False),
    "a space inside the t value (int() strips it)": ([f"t= {T} ,v1={S}"], True),
    "a space after the signature": ([f"t={T},v1={S} "], False),
    "empty entries": ([f",t={T},,v1={S},"], True),
    "upper-case T": ([f"T={T},v1={S}"], False),
    "upper-case V1": ([f"t={T},V1={S}"], False),
    "upper-case hex": ([f"t={T},v1={S.upper()}"], False),
    "a third '=' part is ignored": ([f"t={T},v1={S}=junk"], True),
    "a bare v1 entry": ([f"t={T},v1,v1={S}"], False),
    "a bare t entry": ([f"t,t={T},v1={S}"], False),
    "no v1, only v0": ([f"t={T},v0={S}"], False),
    "v0 beside v1": ([f"t={T},v0={BOGUS_HEX},v1={S}"], True),
    "t with a plus sign": ([f"t=+{T},v1={S}"], True),
    "t with a leading zero": ([f"t=0{T},v1={S}"], True),
    "t with underscores": ([f"t={T:_},v1={S}"], True),
    "t with a fraction": ([f"t={T}.0,v1={S}"], False),
    "t of five thousand digits": ([f"t={'1' * 5000},v1={S}"], False),
    "a non-ASCII v1 before the valid one": ([f"t={T},v1=\u00e9,v1={S}"], False),
    "a non-ASCII v1 after the valid one": ([f"t={T},v1={S},v1=\u00e9"], True),
}


@pytest.mark.parametrize("case", STRIPE_CASES)
def test_stripe_signature_headers_get_stripe_pythons_verdict(case: str) -> None:
    values, expected = STRIPE_CASES[case]
    headers = [("Stripe-Signature", value) for value in values]
    assert stripe_oracle.verdict(STRIPE_BODY, joined(headers)) is expected
    assert ours("stripe", STRIPE_BODY, headers, stripe_oracle.SECRET) is expected


def test_the_stripe_header_name_is_read_in_any_case() -> None:
    headers = [("STRIPE-SIGNATURE", f"t={T},v1={S}")]
    assert stripe_oracle.verdict(STRIPE_BODY, joined(headers))
    assert ours("stripe", STRIPE_BODY, headers, stripe_oracle.SECRET)


# -- Standard Webhooks (the generic provider) -------------------------------------------------

GENERIC_BODY = sample_body("generic")


def generic_signature(message_id: str = "msg_x1", at: int = T) -> str:
    return generic_oracle.standardwebhooks.Webhook(generic_oracle.SECRET).sign(
        message_id, NOW.fromtimestamp(at, NOW.tzinfo), GENERIC_BODY.decode()
    )


G = generic_signature().removeprefix("v1,")
BOGUS_B64 = base64.b64encode(b"\x00" * 32).decode()


def generic_headers(
    signature: str, timestamp: str = str(T), message_id: str = "msg_x1"
) -> list[tuple[str, str]]:
    return [
        ("webhook-id", message_id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ]


GENERIC_CASES = {
    "one signature": (generic_headers(f"v1,{G}"), True),
    "a bogus one first (rotation)": (generic_headers(f"v1,{BOGUS_B64} v1,{G}"), True),
    "the valid one first": (generic_headers(f"v1,{G} v1,{BOGUS_B64}"), True),
    "two spaces before the valid one: an empty entry": (
        generic_headers(f"v1,{BOGUS_B64}  v1,{G}"),
        False,
    ),
    "two spaces after the valid one": (generic_headers(f"v1,{G}  v1,{BOGUS_B64}"), True),
    "a leading space": (generic_headers(f" v1,{G}"), False),
    "a trailing space": (generic_headers(f"v1,{G} "), True),
    "a space after the comma: two entries, the second without a comma": (
        generic_headers(f"v1, {G}"),
        False,
    ),
    "a stray character inside the base64 (b64decode drops it)": (
        generic_headers(f"v1,{G[:8]}!{G[8:]}"),
        True,
    ),
    "the padding dropped": (generic_headers(f"v1,{G.rstrip('=')}"), False),
    "an empty signature": (generic_headers("v1,"), False),
    "a non-ASCII signature": (generic_headers("v1,\u00e9"), False),
    "no comma": (generic_headers(f"v1{G}"), False),
    "another version beside v1": (generic_headers(f"v2,{BOGUS_B64} v1,{G}"), True),
    "upper-case V1": (generic_headers(f"V1,{G}"), False),
    "two signature headers, joined by a comma": (
        [*generic_headers(f"v1,{BOGUS_B64}"), ("webhook-signature", f"v1,{G}")],
        False,
    ),
    "a repeated webhook-id": ([*generic_headers(f"v1,{G}"), ("webhook-id", "msg_x1")], False),
    "a repeated timestamp": ([*generic_headers(f"v1,{G}"), ("webhook-timestamp", str(T))], False),
    "a fractional timestamp, signed as its whole seconds": (
        generic_headers(f"v1,{G}", f"{T}.9"),
        True,
    ),
    "a timestamp with spaces": (generic_headers(f"v1,{G}", f" {T} "), True),
    "a timestamp with a plus sign": (generic_headers(f"v1,{G}", f"+{T}"), True),
    "a timestamp with underscores": (generic_headers(f"v1,{G}", f"{T:_}"), True),
    "a timestamp in exponent form": (generic_headers(f"v1,{G}", f"{T / 1e9!r}e9"), True),
    "a NaN timestamp": (generic_headers(f"v1,{G}", "nan"), False),
    "an infinite timestamp": (generic_headers(f"v1,{G}", "inf"), False),
    "an empty timestamp": (generic_headers(f"v1,{G}", ""), False),
    "upper-case header names": (
        [(name.upper(), value) for name, value in generic_headers(f"v1,{G}")],
        True,
    ),
}


@pytest.mark.parametrize("case", GENERIC_CASES)
def test_standard_webhooks_headers_get_the_reference_librarys_verdict(case: str) -> None:
    headers, expected = GENERIC_CASES[case]
    assert generic_oracle.verdict(GENERIC_BODY, joined(headers)) is expected
    assert ours("generic", GENERIC_BODY, headers, generic_oracle.SECRET) is expected


def test_the_exponent_case_is_the_same_second() -> None:
    """The exponent case above must denote T itself, or it would test nothing."""
    assert int(float(f"{T / 1e9!r}e9")) == T


# -- Square ------------------------------------------------------------------------------------

SQUARE_BODY = sample_body("square")
Q = square_oracle.sign(SQUARE_BODY, at=NOW)[1]["x-square-hmacsha256-signature"]
SQUARE_CASES = {
    "the signature": ([Q], True),
    "a leading space": ([f" {Q}"], False),
    "a trailing space": ([f"{Q} "], False),
    "lower case": ([Q.lower()], False),
    "the signature repeated in two headers": ([Q, Q], False),
    "a bogus one and the signature in two headers": ([BOGUS_B64, Q], False),
    "the padding dropped": ([Q.rstrip("=")], False),
    "a non-ASCII character": ([Q[:-1] + "\u00e9"], False),
}


@pytest.mark.parametrize("case", SQUARE_CASES)
def test_square_signature_headers_get_the_square_sdks_verdict(case: str) -> None:
    values, expected = SQUARE_CASES[case]
    headers = [("X-Square-HmacSha256-Signature", value) for value in values]
    assert square_oracle.verdict(SQUARE_BODY, joined(headers)) is expected
    assert ours("square", SQUARE_BODY, headers, square_oracle.SECRET) is expected


# -- Adyen: the signature is inside the item ------------------------------------------------

ADYEN_BODY = adyen_oracle.sign(sample_body("adyen"), at=NOW)[0]


def adyen_with(signature: object) -> bytes:
    notification = json.loads(ADYEN_BODY)
    item = notification["notificationItems"][0]["NotificationRequestItem"]
    item["additionalData"] = {**item.get("additionalData", {}), "hmacSignature": signature}
    return json.dumps(notification).encode()


A = json.loads(ADYEN_BODY)["notificationItems"][0]["NotificationRequestItem"]["additionalData"][
    "hmacSignature"
]
ADYEN_CASES = {
    "the signature": (A, True),
    "a leading space": (f" {A}", False),
    "a trailing space": (f"{A} ", False),
    "lower case": (A.lower(), False),
    "two signatures joined": (f"{A},{A}", False),
    "empty": ("", False),
    "a number": (12345, False),
    "a non-ASCII character": (A[:-1] + "\u00e9", False),
}


@pytest.mark.parametrize("case", ADYEN_CASES)
def test_adyen_item_signatures_get_the_adyen_librarys_verdict(case: str) -> None:
    signature, expected = ADYEN_CASES[case]
    body = adyen_with(signature)
    assert adyen_oracle.verdict(body, {}) is expected
    assert ours("adyen", body, [("Content-Type", "application/json")], adyen_oracle.SECRET) is (
        expected
    )


def test_the_adyen_sample_is_signed_by_the_library_itself() -> None:
    """The cases above start from a body whose signature the library computed."""
    item = copy.deepcopy(json.loads(ADYEN_BODY)["notificationItems"][0]["NotificationRequestItem"])
    del item["additionalData"]
    expected = adyen_oracle.generate_notification_sig(item, adyen_oracle.SECRET).decode()
    assert expected == A


def test_the_earlier_timestamp_is_inside_the_tolerance() -> None:
    """The cases with EARLIER refuse for their parsing, not for their age."""
    assert NOW - NOW.fromtimestamp(EARLIER, NOW.tzinfo) < timedelta(seconds=300)
