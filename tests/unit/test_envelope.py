"""The published envelope's bytes: written field by field, they are exactly what the codec
writes for the envelope's dict, whatever the event holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.builders import NOW, make_event
from webhook_processor import codec
from webhook_processor.model import PaymentEvent, TransactionStatus, TransactionUpdate
from webhook_processor.publishing.envelope import encode, envelope

# Any Unicode UTF-8 can encode (the codec refuses lone surrogates before anything is stored).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=3, max_value=10**9)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | decimals | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
updates = st.builds(
    TransactionUpdate,
    status=st.sampled_from(TransactionStatus),
    previous_status=st.none() | st.sampled_from(TransactionStatus),
    late=st.booleans(),
    amount=decimals,
    refunded=decimals,
    currency=texts,
    version=st.integers(1, 10**6),
)


@st.composite
def events(draw: st.DrawFn) -> PaymentEvent:
    fields: dict[str, Any] = {
        name: draw(texts)
        for name in ("provider", "transaction_id", "event_type", "currency", "status")
    }
    moment = NOW + timedelta(microseconds=draw(st.integers(-(10**12), 10**12)))
    return make_event(
        draw(texts),
        **fields,
        amount=draw(decimals),
        customer_id=draw(st.none() | texts),
        payment_method=draw(st.none() | texts),
        metadata=draw(st.dictionaries(texts, json_values, max_size=4)),
        occurred_at=moment,
        received_at=moment.astimezone(UTC) if draw(st.booleans()) else datetime.now(UTC),
        transaction=draw(st.none() | updates),
    )


@settings(max_examples=300)
@given(event=events())
def test_the_envelope_bytes_are_the_codecs_text_of_the_envelope(event: PaymentEvent) -> None:
    assert encode(event) == codec.dumps(envelope(event)).encode()


def test_an_envelope_without_a_transaction_update_has_no_transaction_field() -> None:
    published = encode(make_event(customer_id=None, amount=Decimal("5.00")))
    assert b'"transaction"' not in published
    assert b'"customer_id":null,' in published
    assert b'"amount":5.00,' in published
