"""The pipeline's guards that hold for every adapter, including ones not written yet."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from tests.support.builders import NOW, make_event, request
from tests.support.stores import recent_events
from webhook_processor.errors import InvalidPayload
from webhook_processor.model import PaymentEvent, WebhookRequest
from webhook_processor.pipeline import Pipeline
from webhook_processor.providers.stripe import StripeProvider
from webhook_processor.storage.memory import MemoryStore


class _Secrets:
    def active(self, provider: str) -> tuple[str, ...]:
        return ("whsec_x",)


class _Tripping(StripeProvider):
    """An adapter with a gap: it lets a value it did not expect raise."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        raise self.error


class _Building(StripeProvider):
    def __init__(self, event: PaymentEvent) -> None:
        super().__init__()
        self.event = event

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        return [self.event]


@pytest.mark.parametrize(
    "error",
    [
        ValueError("Exceeds the limit (4300 digits)"),
        OverflowError("date value out of range"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        KeyError("x"),
        TypeError("unhashable"),
        ArithmeticError("overflow"),
    ],
)
def test_an_adapter_tripping_on_its_input_is_a_400_not_a_5xx(error: Exception) -> None:
    store = MemoryStore()
    pipeline = Pipeline({"stripe": _Tripping(error)}, _Secrets(), store, clock=lambda: NOW)
    with pytest.raises(InvalidPayload, match=type(error).__name__):
        pipeline.receive(request("stripe", b"{}", {}))
    assert recent_events(store, 1) == []


@pytest.mark.parametrize(
    "event",
    [
        make_event(customer_id="cus_\ud800"),
        make_event(payment_method="\udfff"),
        make_event(event_type="x\ud800"),
    ],
)
def test_an_event_with_text_utf8_cannot_encode_is_refused_whoever_built_it(
    event: PaymentEvent,
) -> None:
    store = MemoryStore()
    pipeline = Pipeline({"stripe": _Building(event)}, _Secrets(), store, clock=lambda: NOW)
    with pytest.raises(InvalidPayload, match="surrogate"):
        pipeline.receive(request("stripe", b"{}", {}))
    assert recent_events(store, 1) == []


def test_trusted_events_have_their_metadata_checked_too() -> None:
    store = MemoryStore()
    pipeline = Pipeline({"stripe": StripeProvider()}, _Secrets(), store, clock=lambda: NOW)
    with pytest.raises(InvalidPayload, match="surrogate"):
        pipeline.accept_trusted("stripe", [make_event(metadata={"k": "\ud800"})])
    assert pipeline.accept_trusted("stripe", [make_event(metadata={"k": Decimal(1)})])


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (make_event(status="refunded", movement_id="re_" + "x" * 300), "refund id is 303"),
        (make_event(status="refunded", movement_id="re_\n1"), "refund id contains control"),
    ],
)
def test_a_refund_id_is_bounded_and_printable_like_every_id(
    event: PaymentEvent, problem: str
) -> None:
    """A refund's id is a key in every store (DynamoDB refuses a key over 2,048 bytes: a
    signed event with a longer one would be a 503 forever, and retried for days)."""
    store = MemoryStore()
    pipeline = Pipeline({"stripe": _Building(event)}, _Secrets(), store, clock=lambda: NOW)
    with pytest.raises(InvalidPayload, match=problem):
        pipeline.receive(request("stripe", b"{}", {}))
    assert recent_events(store, 1) == []
