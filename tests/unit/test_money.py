from __future__ import annotations

from decimal import Decimal

import pytest

from webhook_processor import codec
from webhook_processor.errors import InvalidAmount
from webhook_processor.money import (
    MAX_AMOUNT,
    currency_exponent,
    format_amount,
    from_minor_units,
    parse_amount,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("19.99", "USD", "19.99"),
        ("10", "USD", "10.00"),
        ("1000", "JPY", "1000"),
        ("0.001", "BHD", "0.001"),
        ("1.50", "usd", "1.50"),
        ("1.000", "USD", "1.00"),  # trailing zeros are exact, so accepted
        ("1e2", "USD", "100.00"),  # a JSON exponent within bounds is a plain number
        ("0", "EUR", "0.00"),
    ],
)
def test_parse_amount_keeps_json_number_text_exact(text: str, currency: str, expected: str) -> None:
    value = codec.loads(text)
    assert format_amount(parse_amount(value, currency)) == expected


def test_parse_amount_never_goes_through_float() -> None:
    # 0.1 + 0.2 in float is 0.30000000000000004; exact decimals add up.
    total = parse_amount(codec.loads("0.1"), "USD") + parse_amount(codec.loads("0.2"), "USD")
    assert total == Decimal("0.30")


def test_parse_amount_accepts_plain_decimal_strings() -> None:
    assert parse_amount("19.99", "USD") == Decimal("19.99")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (codec.loads("1e300"), "larger than the limit"),
        (Decimal("1e400"), "larger than the limit"),
        ("1e400", "not a plain decimal"),
        ("abc", "not a plain decimal"),
        ("NaN", "not a plain decimal"),
        (" 19.99", "not a plain decimal"),
        (True, "got a boolean"),
        (None, "got null"),
        ([1], "got an array"),
        ({"v": 1}, "got an object"),
        (codec.loads("19.999"), "more than 2 decimal places"),
        (codec.loads("1.5"), "more than 0 decimal places"),
        (codec.loads("-5.00"), "must not be negative"),
        (codec.loads("1e-300"), "more than 2 decimal places"),
        (Decimal("1e-999999999"), "more than 2 decimal places"),
    ],
)
def test_parse_amount_rejects(value: object, message: str) -> None:
    currency = "JPY" if message.startswith("more than 0") else "USD"
    with pytest.raises(InvalidAmount, match=message):
        parse_amount(value, currency)


def test_amount_at_the_limit_is_accepted_and_one_minor_unit_more_is_not() -> None:
    assert parse_amount(MAX_AMOUNT, "USD") == MAX_AMOUNT
    with pytest.raises(InvalidAmount, match="limit"):
        parse_amount(MAX_AMOUNT + Decimal("0.01"), "USD")


@pytest.mark.parametrize("currency", ["XYZ", "US", "", "usdollar"])
def test_unknown_currency_is_rejected(currency: str) -> None:
    with pytest.raises(InvalidAmount, match="unknown currency"):
        currency_exponent(currency)


def test_currency_must_be_a_string() -> None:
    with pytest.raises(InvalidAmount, match="string ISO 4217 code"):
        currency_exponent(840)


@pytest.mark.parametrize(
    ("units", "currency", "expected"),
    [(1999, "USD", "19.99"), (1000, "JPY", "1000"), (1, "BHD", "0.001"), (5, "CLF", "0.0005")],
)
def test_minor_units_use_the_iso_4217_exponent(units: int, currency: str, expected: str) -> None:
    amount = from_minor_units(units, currency)
    assert format_amount(amount) == expected
    assert to_minor_units(amount, currency) == units


def test_minor_units_with_a_provider_exponent_must_still_be_exact_in_iso_terms() -> None:
    assert from_minor_units(100000, "ISK", exponent=2) == Decimal(1000)
    with pytest.raises(InvalidAmount, match="more than 0 decimal places"):
        from_minor_units(150, "ISK", exponent=2)


@pytest.mark.parametrize("units", [19.99, Decimal("19.5"), Decimal("NaN"), "1999", True, None])
def test_minor_units_must_be_integers(units: object) -> None:
    with pytest.raises(InvalidAmount, match="integer number of minor units"):
        from_minor_units(units, "USD")


def test_format_amount_never_uses_an_exponent() -> None:
    assert format_amount(Decimal("1E+3")) == "1000"
    assert format_amount(Decimal("1E-3")) == "0.001"
