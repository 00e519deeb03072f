"""The size chain of ``limits.py``, each bound recomputed from the code that writes the bytes:
the envelope around the largest event, the attributes beside it, a number's growth when it is
written again, and the pipeline's answer at each end of the chain (the moto half is
tests/integration/test_size_chain_aws.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhook_processor import codec, limits
from webhook_processor.aws.sns import message_attributes
from webhook_processor.errors import InvalidPayload, PayloadTooLarge
from webhook_processor.model import (
    PaymentEvent,
    PaymentStatus,
    TransactionStatus,
    TransactionUpdate,
)
from webhook_processor.pipeline import check_event, check_publishable
from webhook_processor.publishing.envelope import MAX_TRANSACTION_BYTES, encode

#: A printable character of four UTF-8 bytes: the most bytes a character of an id can take.
WIDE = "\U0001d11e"
TEXT = WIDE * limits.MAX_TEXT_LENGTH
ID = WIDE * limits.MAX_ID_LENGTH
LARGEST_AMOUNT = Decimal("999999999999999.999")  # below money.MAX_AMOUNT, three decimals (KWD)
LONGEST_TIME = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-11)))


def _longest(statuses: type[PaymentStatus] | type[TransactionStatus]) -> str:
    return max((s.value for s in statuses), key=len)


def _largest_update() -> TransactionUpdate:
    status = TransactionStatus(_longest(TransactionStatus))
    return TransactionUpdate(
        status=status,
        previous_status=status,
        late=False,
        amount=LARGEST_AMOUNT,
        refunded=LARGEST_AMOUNT,
        currency=TEXT,
        version=10**18,
        authorized=LARGEST_AMOUNT,
        captured=LARGEST_AMOUNT,
        disputed=LARGEST_AMOUNT,
        refund_reversed=LARGEST_AMOUNT,
    )


def _largest_event(metadata: dict[str, object] | None = None) -> PaymentEvent:
    """Every field but the metadata at its bound."""
    return PaymentEvent(
        provider="reconciliation-provider-name",  # longer than any registered provider's
        event_id=ID,
        transaction_id=ID,
        event_type=TEXT,
        amount=LARGEST_AMOUNT,
        currency=TEXT,
        status=_longest(PaymentStatus),
        customer_id=TEXT,
        payment_method=TEXT,
        metadata=metadata or {},
        occurred_at=LONGEST_TIME,
        received_at=LONGEST_TIME,
        arrival="reconciliation",
        transaction=_largest_update(),
    )


def test_the_chain_ends_inside_snss_limit() -> None:
    chain = (
        limits.DEFAULT_MAX_BODY_BYTES + limits.ENVELOPE_OVERHEAD_BYTES + limits.MAX_ATTRIBUTES_BYTES
    )
    assert chain == limits.SNS_MESSAGE_BYTES
    assert limits.SURE_FIT_BODY_BYTES * 9 <= limits.DEFAULT_MAX_BODY_BYTES * 5
    # The envelope is a few bytes larger than the item's JSON text at most: the item fits too.
    assert limits.SNS_MESSAGE_BYTES * 3 // 2 < limits.DYNAMODB_ITEM_BYTES


def test_a_direct_invocation_of_the_largest_body_fits_lambda_and_its_dead_letter_queue() -> None:
    """A replay wraps the body in JSON text: each 4-byte character becomes a 12-byte escape
    at worst (``ensure_ascii``), and Lambda's dead-letter message adds its error attributes
    (ErrorCode, ErrorMessage: under 48 KiB together)."""
    body = json.dumps(
        {"metadata": {"p": WIDE * (limits.DEFAULT_MAX_BODY_BYTES // 4 - 8)}}, ensure_ascii=False
    )
    payload = json.dumps({"body": body, "headers": {"webhook-id": ID}, "provider": "generic"})
    assert len(body.encode()) <= limits.DEFAULT_MAX_BODY_BYTES < len(payload)
    assert len(payload) + 48 * 1024 <= limits.LAMBDA_ASYNC_PAYLOAD_BYTES
    assert len(payload) + 48 * 1024 <= limits.SQS_MESSAGE_BYTES


def test_everything_but_the_metadata_fits_the_envelope_overhead() -> None:
    event = _largest_event()
    check_event(event)  # the event is one the pipeline accepts
    assert len(encode(event)) <= limits.ENVELOPE_OVERHEAD_BYTES
    # ... and it is the largest such envelope: one more character anywhere is refused.
    with pytest.raises(InvalidPayload, match="event type is 256 characters"):
        check_event(_with(event, event_type=TEXT + "x"))


def _with(event: PaymentEvent, **changes: object) -> PaymentEvent:
    return replace(event, **changes)  # type: ignore[arg-type]


def test_the_transaction_adds_at_most_max_transaction_bytes() -> None:
    event = _largest_event()
    without = _with(event, transaction=None)
    assert 0 < len(encode(event)) - len(encode(without)) <= MAX_TRANSACTION_BYTES


def test_the_attributes_fit_max_attributes_bytes() -> None:
    """SNS counts each attribute's name, data type and value."""
    attributes = message_attributes(_largest_event())
    size = sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )
    assert len(attributes) == 5
    assert size <= limits.MAX_ATTRIBUTES_BYTES


NUMBER = st.from_regex(
    r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
)


@given(NUMBER)
def test_a_number_written_again_grows_by_9_5_at_most_with_its_separator(text: str) -> None:
    """The 5/9 of ``SURE_FIT_BODY_BYTES``."""
    try:
        value = codec.loads(text)
    except InvalidPayload:
        return  # beyond the exponent bound: refused, never written
    written = codec.scalar(value)
    assert len(written) <= len(text) + 4
    assert (len(written) + 1) * 5 <= (len(text) + 1) * 9


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("1E-6", "0.000001"),
        ("0E-6", "0.000000"),
        ("10e9", "1.0E+10"),
        ("0E1", "0E+1"),
        ("1" + "0" * 93 + "e9", None),
    ],
)
def test_the_numbers_that_grow_most(text: str, written: str | None) -> None:
    out = codec.scalar(codec.loads(text))
    assert out == written if written else len(out) == len(text) + 4


def test_a_body_of_numbers_that_grow_is_measured_and_refused_before_it_is_stored() -> None:
    """``10e9`` is written ``1.0E+10``: metadata of those outgrows its body by 3/5."""
    count = (limits.DEFAULT_MAX_BODY_BYTES - 200) // 5
    metadata = {"n": codec.loads("[" + ",".join(["10e9"] * count) + "]")}
    assert len(codec.dumps(metadata)) > limits.MAX_ENVELOPE_BYTES
    with pytest.raises(PayloadTooLarge, match="would publish as about") as raised:
        check_publishable(_with(_largest_event(), metadata=metadata, transaction=None))
    assert raised.value.limit == limits.MAX_ENVELOPE_BYTES


def test_the_largest_metadata_a_default_body_can_hold_publishes() -> None:
    padding = "x" * (limits.DEFAULT_MAX_BODY_BYTES - len(json.dumps({"metadata": {"p": ""}})))
    event = _with(_largest_event({"p": padding}), transaction=None)
    check_publishable(event)
    assert len(encode(_with(event, transaction=_largest_update()))) <= limits.MAX_ENVELOPE_BYTES


@pytest.mark.parametrize("field", ["event_type", "status", "customer_id", "payment_method"])
def test_a_text_with_a_control_character_is_refused(field: str) -> None:
    """SNS takes no control character in an attribute value, nor the envelope's texts."""
    event = _with(_largest_event(), **{field: "payment\x01succeeded"})
    with pytest.raises(InvalidPayload, match="contains control characters"):
        check_event(event)
