"""The bad-input suite: each case is sent to every HTTP edge (local server, Lambda URL).

Every case must get its 4xx with a specific detail, and store and publish nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.support.builders import (
    GENERIC_SECRET,
    MISSING,
    NOW,
    encode,
    generic_body,
    generic_headers,
    signed,
    stripe_event,
)
from tests.support.hostile_inputs import HOSTILE_INPUTS
from webhook_processor.limits import DEFAULT_MAX_BODY_BYTES
from webhook_processor.providers import standard_webhooks_scheme

# -- bad input -------------------------------------------------------------------------------

STRIPE_NAN = b'{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","amount":NaN,"currency":"usd"}}}'


def _generic(**fields: Any) -> tuple[bytes, dict[str, str]]:
    return signed("generic", encode(generic_body(**fields)))


def _generic_raw(text: str) -> tuple[bytes, dict[str, str]]:
    return signed("generic", text.encode())


def _amount_literal(literal: str) -> tuple[bytes, dict[str, str]]:
    text = json.dumps(generic_body(amount=0)).replace('"amount": 0', f'"amount": {literal}')
    return _generic_raw(text)


def _reserialised() -> tuple[bytes, dict[str, str]]:
    original = '{"transaction_id": "txn_1", "amount": 19.99, "currency": "USD", "status": "paid"}'
    # Signed over a re-serialised form (as a framework that parsed and re-dumped JSON would),
    # while the bytes on the wire are the provider's original text.
    _, headers = signed("generic", json.dumps(json.loads(original), separators=(",", ":")).encode())
    return original.encode(), headers


def _with_headers(body: bytes, **changes: str | None) -> dict[str, str]:
    headers = generic_headers(body)
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            del headers[key]
        else:
            headers[key] = value
    return headers


BODY = encode(generic_body())
NOT_UTF8 = b'{"a": "\xff"}'

BAD_INPUTS: dict[str, tuple[str, tuple[bytes, dict[str, str]], int, str, str]] = {
    # name: (provider, (body, headers), status, error code, detail fragment)
    "invalid JSON": (
        "generic",
        _generic_raw('{"transaction_id": '),
        400,
        "invalid_payload",
        "not valid JSON",
    ),
    "JSON array, not object": (
        "generic",
        _generic_raw("[1, 2]"),
        400,
        "invalid_payload",
        "must be a JSON object, got an array",
    ),
    "JSON string, not object": (
        "generic",
        _generic_raw('"txn"'),
        400,
        "invalid_payload",
        "got a string",
    ),
    # The reference library signs text only, so these bytes are signed with our own signer.
    "not UTF-8": (
        "generic",
        (NOT_UTF8, standard_webhooks_scheme.headers(NOT_UTF8, GENERIC_SECRET, NOW, "msg_1")),
        400,
        "invalid_payload",
        "not UTF-8",
    ),
    "amount NaN": (
        "generic",
        _amount_literal("NaN"),
        400,
        "invalid_payload",
        "NaN is not valid JSON",
    ),
    "amount Infinity": (
        "generic",
        _amount_literal("Infinity"),
        400,
        "invalid_payload",
        "Infinity is not valid JSON",
    ),
    "amount 1e300 number": (
        "generic",
        _amount_literal("1e300"),
        400,
        "invalid_amount",
        "larger than the limit",
    ),
    "amount 1e400 string": (
        "generic",
        _generic(amount="1e400"),
        400,
        "invalid_amount",
        "not a plain decimal",
    ),
    "amount abc": ("generic", _generic(amount="abc"), 400, "invalid_amount", "not a plain decimal"),
    "amount true": ("generic", _generic(amount=True), 400, "invalid_amount", "got a boolean"),
    "amount null": ("generic", _generic(amount=None), 400, "invalid_amount", "got null"),
    "amount missing": (
        "generic",
        _generic(amount=MISSING),
        400,
        "invalid_payload",
        "body.amount is missing",
    ),
    "amount negative": (
        "generic",
        _generic(amount="-1.00"),
        400,
        "invalid_amount",
        "must not be negative",
    ),
    "too many decimals": (
        "generic",
        _generic(amount="19.999"),
        400,
        "invalid_amount",
        "more than 2 decimal places",
    ),
    "decimals in JPY": (
        "generic",
        _generic(amount="100.5", currency="JPY"),
        400,
        "invalid_amount",
        "more than 0 decimal places",
    ),
    "unknown currency": (
        "generic",
        _generic(currency="XYZ"),
        400,
        "invalid_amount",
        "unknown currency 'XYZ'",
    ),
    "missing transaction id": (
        "generic",
        _generic(transaction_id=MISSING),
        400,
        "invalid_payload",
        "body.transaction_id is missing",
    ),
    "empty transaction id": (
        "generic",
        _generic(transaction_id=" "),
        400,
        "invalid_payload",
        "body.transaction_id is not a non-empty string",
    ),
    "unknown status": (
        "generic",
        _generic(status="weird"),
        400,
        "invalid_payload",
        "not a known payment status",
    ),
    "metadata not object": (
        "generic",
        _generic(metadata=[1]),
        400,
        "invalid_payload",
        "body.metadata must be a JSON object",
    ),
    "body event_id disagrees": (
        "generic",
        _generic(event_id="msg_other"),
        400,
        "invalid_payload",
        "differs from the webhook-id header",
    ),
    "oversize body": (
        "generic",
        _generic(metadata={"pad": "x" * DEFAULT_MAX_BODY_BYTES}),
        413,
        "payload_too_large",
        f"larger than the limit of {DEFAULT_MAX_BODY_BYTES} bytes",
    ),
    "wrong signature": (
        "generic",
        (
            BODY,
            _with_headers(
                BODY, webhook_signature="v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
            ),
        ),
        401,
        "invalid_signature",
        "does not match",
    ),
    "signature not base64": (
        "generic",
        (BODY, _with_headers(BODY, webhook_signature="v1,***")),
        401,
        "invalid_signature",
        "does not match",
    ),
    "missing signature": (
        "generic",
        (BODY, _with_headers(BODY, webhook_signature=None)),
        401,
        "invalid_signature",
        "missing webhook-signature header",
    ),
    "missing webhook-id": (
        "generic",
        (BODY, _with_headers(BODY, webhook_id=None)),
        401,
        "invalid_signature",
        "missing webhook-id header",
    ),
    "timestamp not a number": (
        "generic",
        (BODY, _with_headers(BODY, webhook_timestamp="soon")),
        401,
        "invalid_signature",
        "must be Unix seconds",
    ),
    "signature over re-serialised body": (
        "generic",
        _reserialised(),
        401,
        "invalid_signature",
        "does not match",
    ),
    "stale timestamp": (
        "generic",
        signed("generic", BODY, at=NOW - timedelta(seconds=301)),
        401,
        "invalid_signature",
        "301 s old",
    ),
    "future timestamp": (
        "generic",
        signed("generic", BODY, at=NOW + timedelta(seconds=301)),
        401,
        "invalid_signature",
        "in the future",
    ),
    "body signed with another secret": (
        "generic",
        signed("generic", BODY, secret="whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="),
        401,
        "invalid_signature",
        "does not match",
    ),
    "not JSON content type": (
        "generic",
        (BODY, _with_headers(BODY, content_type="text/plain")),
        415,
        "unsupported_media_type",
        "text/plain' is not JSON",
    ),
    "stripe wrong signature": (
        "stripe",
        (encode(stripe_event()), {"Stripe-Signature": f"t={int(NOW.timestamp())},v1={'0' * 64}"}),
        401,
        "invalid_signature",
        "does not match",
    ),
    "stripe header without v1": (
        "stripe",
        (encode(stripe_event()), {"Stripe-Signature": f"t={int(NOW.timestamp())}"}),
        401,
        "invalid_signature",
        "no v1= signature",
    ),
    "stripe missing header": (
        "stripe",
        (encode(stripe_event()), {}),
        401,
        "invalid_signature",
        "missing stripe-signature header",
    ),
    "stripe stale timestamp": (
        "stripe",
        signed("stripe", encode(stripe_event()), at=NOW - timedelta(seconds=400)),
        401,
        "invalid_signature",
        "400 s old",
    ),
    "stripe future timestamp": (
        "stripe",
        signed("stripe", encode(stripe_event()), at=NOW + timedelta(hours=1)),
        401,
        "invalid_signature",
        "in the future",
    ),
    "stripe amount NaN": (
        "stripe",
        signed("stripe", STRIPE_NAN),
        400,
        "invalid_payload",
        "NaN is not valid JSON",
    ),
    "stripe amount float": (
        "stripe",
        signed("stripe", encode(stripe_event(amount=19.99))),
        400,
        "invalid_amount",
        "integer number of minor units",
    ),
    "stripe amount string": (
        "stripe",
        signed("stripe", encode(stripe_event(amount="1999"))),
        400,
        "invalid_amount",
        "integer number of minor units",
    ),
    "stripe unknown currency": (
        "stripe",
        signed("stripe", encode(stripe_event(currency="zzz"))),
        400,
        "invalid_amount",
        "unknown currency",
    ),
    "stripe missing object id": (
        "stripe",
        signed("stripe", encode(stripe_event(id=None))),
        400,
        "invalid_payload",
        "body.data.object.id is missing",
    ),
    "stripe missing data": (
        "stripe",
        signed("stripe", encode({"id": "evt_1", "type": "charge.succeeded"})),
        400,
        "invalid_payload",
        "body.data must be a JSON object",
    ),
    "stripe customer wrong type": (
        "stripe",
        signed("stripe", encode(stripe_event(customer=5))),
        400,
        "invalid_payload",
        "customer must be an id string",
    ),
    "event id too long": (
        "generic",
        signed("generic", BODY, message_id="m" * 256),
        400,
        "invalid_payload",
        "event id is 256 characters; the limit is 255",
    ),
    "transaction id too long": (
        "generic",
        _generic(transaction_id="t" * 3000),
        400,
        "invalid_payload",
        "transaction id is 3000 characters",
    ),
    "transaction id with control characters": (
        "generic",
        _generic(transaction_id="txn\n1"),
        400,
        "invalid_payload",
        "control characters",
    ),
    "stripe event id too long": (
        "stripe",
        signed("stripe", encode(stripe_event(event_id="evt_" + "x" * 300))),
        400,
        "invalid_payload",
        "event id is 304 characters",
    ),
    "unknown provider": (
        "paypal",
        (BODY, generic_headers(BODY)),
        404,
        "unknown_provider",
        "no provider named 'paypal'",
    ),
}

# The hostile classes the fuzzers found: every edge must treat them like the cases above.
BAD_INPUTS.update(HOSTILE_INPUTS)
