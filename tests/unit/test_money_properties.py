"""Property tests: for any amount in any currency, minor units -> Decimal -> published text and
back is exact, directly and through every provider's own sample, signature and parser."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.oracles import oracle
from tests.support.builders import NOW, request
from webhook_processor import codec
from webhook_processor.errors import InvalidAmount
from webhook_processor.money import (
    ISO_4217_EXPONENTS,
    MAX_AMOUNT,
    format_amount,
    from_minor_units,
    parse_amount,
    to_minor_units,
)
from webhook_processor.providers import default_providers
from webhook_processor.providers.adyen import ADYEN_EXPONENTS
from webhook_processor.providers.base import Sample
from webhook_processor.providers.stripe import STRIPE_EXPONENTS
from webhook_processor.publishing.envelope import encode

CURRENCIES = sorted(ISO_4217_EXPONENTS)


@st.composite
def amounts(draw: st.DrawFn) -> tuple[str, Decimal]:
    """A currency and an amount every provider can express: exact in the fewest minor digits
    any of them counts the currency in (Stripe counts MGA in whole ariary), up to the bound."""
    currency = draw(st.sampled_from(CURRENCIES))
    iso = ISO_4217_EXPONENTS[currency]
    digits = min(iso, STRIPE_EXPONENTS.get(currency, iso), ADYEN_EXPONENTS.get(currency, iso))
    units = draw(st.integers(min_value=0, max_value=int(MAX_AMOUNT.scaleb(digits))))
    return currency, Decimal(units).scaleb(-digits).quantize(Decimal(1).scaleb(-iso))


def published_amount(text: bytes) -> Decimal:
    """What a decimal-reading consumer reads from a published envelope."""
    amount = json.loads(text, parse_float=Decimal, parse_int=Decimal)["data"]["amount"]
    assert isinstance(amount, Decimal)
    return amount


@st.composite
def minor_units(draw: st.DrawFn) -> tuple[str, int]:
    """A currency and a count of its minor units, zero to the upper bound."""
    currency = draw(st.sampled_from(CURRENCIES))
    top = int(MAX_AMOUNT.scaleb(ISO_4217_EXPONENTS[currency]))
    return currency, draw(st.integers(min_value=0, max_value=top))


@settings(max_examples=1000, deadline=None)
@given(money=minor_units())
def test_minor_units_to_decimal_to_text_and_back_is_exact(money: tuple[str, int]) -> None:
    currency, units = money
    exponent = ISO_4217_EXPONENTS[currency]
    amount = from_minor_units(units, currency)
    text = format_amount(amount)
    # The text has exactly the currency's digits after the point, and no exponent.
    assert "e" not in text.lower()
    assert len(text.partition(".")[2]) == exponent
    assert parse_amount(codec.loads(text), currency) == amount
    assert format_amount(parse_amount(codec.loads(text), currency)) == text
    assert to_minor_units(Decimal(text), currency) == units


@settings(max_examples=500, deadline=None)
@given(
    provider_exponents=st.sampled_from([STRIPE_EXPONENTS, ADYEN_EXPONENTS]),
    data=st.data(),
)
def test_a_providers_own_minor_units_round_trip_where_it_differs_from_iso(
    provider_exponents: dict[str, int], data: st.DataObject
) -> None:
    currency = data.draw(st.sampled_from(sorted(provider_exponents)))
    exponent = provider_exponents[currency]
    iso = ISO_4217_EXPONENTS[currency]
    whole = data.draw(st.integers(min_value=0, max_value=10**12))
    amount = Decimal(whole).scaleb(-min(iso, exponent)).quantize(Decimal(1).scaleb(-iso))
    units = to_minor_units(amount, currency, exponent)
    assert from_minor_units(units, currency, exponent) == amount
    assert format_amount(from_minor_units(units, currency, exponent)) == format_amount(amount)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(default_providers())), money=amounts())
def test_every_provider_publishes_the_exact_amount_it_was_sent(
    name: str, money: tuple[str, Decimal]
) -> None:
    currency, amount = money
    provider, signer = default_providers()[name], oracle(name)
    spec = Sample(provider.event_id_prefix + "p1", amount, currency, "succeeded", NOW)
    body, headers = signer.sign(
        provider.sample(spec), at=NOW, secret=signer.SECRET, message_id=spec.event_id
    )
    [event] = provider.parse(request(name, body, headers), signer.SECRET, NOW)
    published = encode(event)
    assert event.amount == amount
    assert published_amount(published) == amount
    assert f'"amount":{format_amount(amount)},'.encode() in published


def test_an_amount_a_provider_cannot_count_is_refused_not_truncated() -> None:
    """Stripe counts MGA in whole ariary: 0.01 MGA has no count, and must not become 0."""
    with pytest.raises(InvalidAmount, match="not a whole number of the provider's MGA units"):
        to_minor_units(Decimal("0.01"), "MGA", STRIPE_EXPONENTS["MGA"])
    assert to_minor_units(Decimal(5), "MGA", STRIPE_EXPONENTS["MGA"]) == 5
