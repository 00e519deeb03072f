"""Exact money: amounts are :class:`~decimal.Decimal` from the JSON text to the published event.

Amounts never pass through ``float``. JSON is parsed with ``parse_float=Decimal`` (see
:mod:`webhook_processor.codec`), so ``19.99`` arrives as ``Decimal("19.99")``. Every amount is
then validated (finite, not negative, below :data:`MAX_AMOUNT`, no more fractional digits than the
currency has) and quantized to the currency's ISO 4217 exponent, so that one value has one text:
``10`` USD is stored and published as ``10.00``, ``1000`` JPY as ``1000``, one BHD fil as
``0.001``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from webhook_processor.errors import InvalidAmount
from webhook_processor.limits import MAX_NUMBER_CHARS, MAX_NUMBER_EXPONENT

_CODES_BY_EXPONENT: Final = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
        BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
        FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
        KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
        NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
        SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
        VES WST XCD XCG YER ZAR ZMW ZWG
    """,
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}

#: Number of minor-unit digits of each active ISO 4217 currency.
ISO_4217_EXPONENTS: Final[Mapping[str, int]] = MappingProxyType(
    {code: exponent for exponent, codes in _CODES_BY_EXPONENT.items() for code in codes.split()}
)

#: Largest accepted amount, in major units. Far above any real payment, far below values whose
#: arithmetic or storage could overflow (DynamoDB numbers hold 38 digits).
MAX_AMOUNT: Final = Decimal(10) ** 15

_DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def currency_exponent(currency: object) -> int:
    """Return the ISO 4217 exponent of ``currency`` (an upper- or lower-case code)."""
    if not isinstance(currency, str):
        raise InvalidAmount(f"currency must be a string ISO 4217 code, got {_kind(currency)}")
    exponent = ISO_4217_EXPONENTS.get(currency.upper())
    if exponent is None:
        raise InvalidAmount(f"unknown currency {currency!r}: expected an ISO 4217 code like 'USD'")
    return exponent


def parse_amount(value: object, currency: str) -> Decimal:
    """Validate a major-unit amount taken from parsed JSON and quantize it to the currency.

    ``value`` may be a JSON number (``int`` or ``Decimal``) or a string in plain decimal
    notation (``"19.99"``). Booleans, ``null``, NaN, infinities, exponents beyond
    :data:`MAX_AMOUNT` and more fractional digits than the currency has are rejected.
    """
    exponent = currency_exponent(currency)
    if isinstance(value, bool) or value is None:
        raise InvalidAmount(f"amount must be a number, got {_kind(value)}")
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS:
            raise InvalidAmount(
                f"amount has {len(value)} characters; the limit is {MAX_NUMBER_CHARS}"
            )
        if not _DECIMAL_TEXT.fullmatch(value):
            raise InvalidAmount(f"amount {value!r} is not a plain decimal number like '19.99'")
        amount = Decimal(value)
    elif isinstance(value, int | Decimal):
        amount = Decimal(value)
    else:
        raise InvalidAmount(f"amount must be a number, got {_kind(value)}")
    return _checked(amount, currency, exponent)


def from_minor_units(units: object, currency: str, exponent: int | None = None) -> Decimal:
    """Convert an integer count of minor units (Stripe's ``1999``) to a major-unit Decimal.

    ``exponent`` overrides the ISO 4217 exponent for providers that count some currencies
    differently (Stripe counts ISK in hundredths); the result must still be exact in ISO terms.
    """
    iso_exponent = currency_exponent(currency)
    if isinstance(units, bool) or not isinstance(units, int | Decimal):
        raise InvalidAmount(f"amount must be an integer number of minor units, got {_kind(units)}")
    if isinstance(units, Decimal):
        if not units.is_finite() or units.adjusted() > MAX_NUMBER_EXPONENT:
            raise InvalidAmount(
                f"amount must be a bounded integer number of minor units, got {units}"
            )
        if units != units.to_integral_value():
            raise InvalidAmount(f"amount must be an integer number of minor units, got {units}")
    scale = iso_exponent if exponent is None else exponent
    return _checked(Decimal(units).scaleb(-scale), currency, iso_exponent)


def to_minor_units(amount: Decimal, currency: str, exponent: int | None = None) -> int:
    """Inverse of :func:`from_minor_units`, for signing sample events as a provider would."""
    scale = currency_exponent(currency) if exponent is None else exponent
    units = _checked(amount, currency, currency_exponent(currency)).scaleb(scale)
    if units != units.to_integral_value():
        # Stripe counts MGA in whole ariary: 0.01 MGA has no count to send, and int() would drop it.
        raise InvalidAmount(
            f"amount {format_amount(amount)} is not a whole number of the provider's "
            f"{currency.upper()} units (it counts {scale} decimal places)"
        )
    return int(units)


def format_amount(amount: Decimal) -> str:
    """The canonical text of an amount: plain notation, never an exponent."""
    return format(amount, "f")


def _checked(amount: Decimal, currency: str, exponent: int) -> Decimal:
    # Error details quote the amount as its own short text (str), never in plain notation:
    # ``1E-999999999`` written out in full is a gigabyte.
    if not amount.is_finite():
        raise InvalidAmount(f"amount must be finite, got {amount}")
    if amount.is_signed() and amount != 0:
        raise InvalidAmount(f"amount must not be negative, got {amount}")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(f"amount is larger than the limit of {format_amount(MAX_AMOUNT)}")
    if amount.adjusted() < -MAX_NUMBER_EXPONENT:
        # Nonzero and tinier than any minor unit; quantizing an exponent this far out could
        # overflow the context.
        raise InvalidAmount(f"amount {amount} has more than {exponent} decimal places")
    quantum = Decimal(1).scaleb(-exponent)
    # Bounded above, so quantizing to at most 4 places fits the default 28-digit context.
    quantized = abs(amount).quantize(quantum)
    if quantized != amount:
        raise InvalidAmount(
            f"amount {amount} has more than {exponent} decimal places, "
            f"the most {currency.upper()} allows"
        )
    return quantized


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value!r}"
    return {dict: "an object", list: "an array", float: "a float"}.get(type(value), "a number")
