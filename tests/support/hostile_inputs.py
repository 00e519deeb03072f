"""Validly signed bodies that once made the processor answer 5xx, or answer hugely.

Each is a class of input, not one value: a number the interpreter cannot read back, an exponent
no ``Decimal`` context holds, a time no ``datetime`` holds, a string UTF-8 cannot encode, an
error detail that quotes a gigabyte. They join :data:`tests.support.bad_inputs.BAD_INPUTS`, so every
HTTP edge (the local server and the Lambda Function URL) must answer each with its 4xx, a short
detail, and store nothing.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.builders import encode, generic_body, signed, stripe_event

Case = tuple[str, tuple[bytes, dict[str, str]], int, str, str]

#: Longest response body any rejection may have: a detail is cut, whatever the sender quoted.
MAX_ERROR_RESPONSE_BYTES = 600


def _generic_text(**literals: str) -> tuple[bytes, dict[str, str]]:
    """A generic body in which each field's JSON text is given literally."""
    body = json.dumps(generic_body(**dict.fromkeys(literals, "@@")))
    for name, literal in literals.items():
        body = body.replace(f'"{name}": "@@"', f'"{name}": {literal}', 1)
    return signed("generic", body.encode())


def _stripe_text(event: dict[str, Any], **literals: str) -> tuple[bytes, dict[str, str]]:
    body = encode(event).decode()
    for placeholder, literal in literals.items():
        body = body.replace(f'"{placeholder}"', literal, 1)
    return signed("stripe", body.encode())


HOSTILE_INPUTS: dict[str, Case] = {
    # Integers Python refuses to read (4,300 digits) or read back.
    "integer beyond the digit limit in metadata": (
        "generic",
        _generic_text(metadata='{"x": 1' + "0" * 4400 + "}"),
        400,
        "invalid_payload",
        "characters; the limit is 100",
    ),
    "integer beyond the digit limit in an unread field": (
        "generic",
        _generic_text(extra="9" * 5000),
        400,
        "invalid_payload",
        "characters; the limit is 100",
    ),
    "stripe integer beyond the digit limit": (
        "stripe",
        _stripe_text(stripe_event(amount="@@"), **{"@@": "1" * 4400}),
        400,
        "invalid_payload",
        "characters; the limit is 100",
    ),
    # An exponent that is stored as thousands of digits, or overflows Decimal arithmetic.
    "metadata number 1e4300 (stored as a 4,301-digit integer)": (
        "generic",
        _generic_text(metadata='{"x": 1e4300}'),
        400,
        "invalid_payload",
        "exponent beyond",
    ),
    "metadata number 1e999999999": (
        "generic",
        _generic_text(metadata='{"k": 1e999999999}'),
        400,
        "invalid_payload",
        "exponent beyond",
    ),
    "twenty numbers 1e999999 in metadata": (
        "generic",
        _generic_text(metadata="{" + ",".join(f'"k{n}": 1e999999' for n in range(20)) + "}"),
        400,
        "invalid_payload",
        "exponent beyond",
    ),
    "amount 1e-999999999": (
        "generic",
        _generic_text(amount="1e-999999999"),
        400,
        "invalid_payload",
        "exponent beyond",
    ),
    "amount 1e999999999": (
        "generic",
        _generic_text(amount="1e999999999"),
        400,
        "invalid_payload",
        "exponent beyond",
    ),
    "amount 1e400": (
        "generic",
        _generic_text(amount="1e400"),
        400,
        "invalid_payload",
        "exponent beyond",
    ),
    "stripe amount 1E+999999999": (
        "stripe",
        _stripe_text(stripe_event(amount="@@"), **{"@@": "1E+999999999"}),
        400,
        "invalid_payload",
        "exponent beyond",
    ),
    "amount string with a hundred thousand decimals": (
        "generic",
        signed("generic", encode(generic_body(amount="0." + "0" * 100_000 + "1"))),
        400,
        "invalid_amount",
        "characters; the limit is 100",
    ),
    # Times no datetime holds.
    "stripe created after the year 9999": (
        "stripe",
        signed("stripe", encode({**stripe_event(), "created": 10**12})),
        400,
        "invalid_payload",
        "after the year 9999",
    ),
    "stripe created beyond a C long": (
        "stripe",
        signed("stripe", encode({**stripe_event(), "created": 10**30})),
        400,
        "invalid_payload",
        "after the year 9999",
    ),
    # Strings UTF-8 cannot encode, wherever they would be stored.
    "lone surrogate in a metadata value": (
        "generic",
        _generic_text(metadata='{"note": "\\ud800"}'),
        400,
        "invalid_payload",
        "lone UTF-16 surrogate",
    ),
    "lone surrogate in a metadata key": (
        "generic",
        _generic_text(metadata='{"\\udfff": 1}'),
        400,
        "invalid_payload",
        "lone UTF-16 surrogate",
    ),
    "lone surrogate in customer_id": (
        "generic",
        _generic_text(customer_id='"cus_\\ud800"'),
        400,
        "invalid_payload",
        "lone UTF-16 surrogate",
    ),
    "lone surrogate in payment_method": (
        "generic",
        _generic_text(payment_method='"\\udbff"'),
        400,
        "invalid_payload",
        "lone UTF-16 surrogate",
    ),
    "lone surrogate in the event type": (
        "generic",
        _generic_text(event_type='"payment.\\ud800"'),
        400,
        "invalid_payload",
        "lone UTF-16 surrogate",
    ),
    "stripe lone surrogate in metadata": (
        "stripe",
        _stripe_text(stripe_event(metadata={"k": "@@"}), **{"@@": '"\\ud800"'}),
        400,
        "invalid_payload",
        "lone UTF-16 surrogate",
    ),
    "stripe lone surrogate in the customer id": (
        "stripe",
        _stripe_text(stripe_event(customer="@@"), **{"@@": '"cus_\\udc00"'}),
        400,
        "invalid_payload",
        "lone UTF-16 surrogate",
    ),
    # A detail that quotes what was sent stays short.
    "unknown status of a megabyte": (
        "generic",
        signed("generic", encode(generic_body(status="x" * 200_000))),
        400,
        "invalid_payload",
        "(or a common synonym such as 'completed')",
    ),
}
