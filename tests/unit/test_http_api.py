"""The local HTTP API: every bad input gets its 4xx with a specific detail and leaves no trace.

It runs on the shipped fakes (``MemoryStore``, ``MemorySink``) through ``build_local``'s
overrides, where SQLite is not what a test is about; the tests that are about the real store
and events file use the SQLite processor.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from tests.support.bad_inputs import BAD_INPUTS, BODY
from tests.support.builders import (
    NOW,
    encode,
    generic_body,
    signed,
    stripe_event,
)
from tests.support.hostile_inputs import MAX_ERROR_RESPONSE_BYTES
from tests.support.loopback import post, read_events_file
from tests.support.stores import recent_events
from webhook_processor.local.bootstrap import LocalProcessor
from webhook_processor.local.server import create_app
from webhook_processor.publishing.envelope import encode as encode_envelope
from webhook_processor.publishing.memory import MemorySink


@pytest.fixture
def client(memory_processor: LocalProcessor) -> Iterator[TestClient]:
    # The dispatcher is driven by hand (run_once) so each test sees exactly what was published.
    with TestClient(create_app(memory_processor, run_dispatcher=False)) as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(processor: LocalProcessor) -> Iterator[TestClient]:
    with TestClient(create_app(processor, run_dispatcher=False)) as test_client:
        yield test_client


def published(processor: LocalProcessor) -> list[bytes]:
    """The envelopes the memory processor's sink took, after one dispatcher pass."""
    processor.dispatcher.run_once()
    [sink] = processor.dispatcher.sinks
    assert isinstance(sink, MemorySink)
    return [encode_envelope(event) for event in sink.published]


# -- success ---------------------------------------------------------------------------------


def test_stripe_event_is_accepted_stored_and_published_with_exact_amount(
    sqlite_client: TestClient, processor: LocalProcessor
) -> None:
    body, headers = signed("stripe", encode(stripe_event(amount=1999)))
    response = post(sqlite_client, "stripe", body, headers)
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "event_ids": ["evt_1"]}
    processor.dispatcher.run_once()
    [event] = read_events_file(processor.config.events_path)
    assert '"amount":19.99,' in processor.config.events_path.read_text()
    assert event["event_id"] == "evt_1"
    assert event["event_type"] == "payment_processed"
    assert event["data"]["transaction_id"] == "pi_1"
    assert (event["data"]["amount"], event["data"]["currency"]) == (Decimal("19.99"), "USD")


def test_redelivery_is_a_200_duplicate_with_one_record_and_one_publication(
    client: TestClient, memory_processor: LocalProcessor
) -> None:
    body, headers = signed("generic", encode(generic_body()))
    assert post(client, "generic", body, headers).json()["status"] == "accepted"
    again = post(client, "generic", body, headers)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "event_ids": ["msg_1"]}
    assert len(recent_events(memory_processor.store, 10)) == 1
    assert len(published(memory_processor)) == 1


def test_authentic_event_of_an_unhandled_type_is_acknowledged_and_ignored(
    client: TestClient, memory_processor: LocalProcessor
) -> None:
    body, headers = signed("stripe", encode(stripe_event(event_type="customer.created")))
    response = post(client, "stripe", body, headers)
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "event_ids": []}
    assert recent_events(memory_processor.store, 10) == []


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_a_specific_4xx_and_stores_nothing(
    case: str, client: TestClient, memory_processor: LocalProcessor
) -> None:
    provider, (body, headers), status, code, detail = BAD_INPUTS[case]
    response = post(client, provider, body, headers)
    assert response.status_code == status, response.text[:2000]
    assert len(response.content) <= MAX_ERROR_RESPONSE_BYTES
    assert response.json()["error"] == code
    assert detail in response.json()["detail"]
    assert recent_events(memory_processor.store, 10) == []
    assert published(memory_processor) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_with_allow_header(
    method: str, client: TestClient, memory_processor: LocalProcessor
) -> None:
    response = client.request(method, "/webhooks/stripe")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "error": "method_not_allowed",
        "detail": f"webhooks are delivered with POST, not {method}",
    }
    assert recent_events(memory_processor.store, 10) == []


def test_declared_oversize_length_is_refused_before_reading(client: TestClient) -> None:
    response = client.post(
        "/webhooks/generic", content=b"{}", headers={"content-length": str(10**9)}
    )
    assert response.status_code == 413


def test_store_failure_is_a_503_so_the_provider_retries(
    sqlite_client: TestClient, processor: LocalProcessor, caplog: pytest.LogCaptureFixture
) -> None:
    processor.store.close()  # the writer is gone: no write can be confirmed
    body, headers = signed("generic", BODY)
    response = post(sqlite_client, "generic", body, headers)
    assert response.status_code == 503
    assert response.json() == {
        "error": "storage_unavailable",
        "detail": "the processor cannot take this event now; retry later",
    }
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "the SQLite store is closed" in record.getMessage()


def test_unexpected_error_is_a_json_500_without_details(
    client: TestClient, memory_processor: LocalProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*_: object) -> list[bool]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(memory_processor.store, "insert_all_async", explode)
    body, headers = signed("generic", BODY)
    response = post(client, "generic", body, headers)
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert response.json() == {
        "error": "internal",
        "detail": "unexpected error; see the server log",
    }


def test_healthz_is_a_503_when_the_dispatcher_is_not_running(
    memory_processor: LocalProcessor,
) -> None:
    with TestClient(create_app(memory_processor)) as running:
        assert running.get("/healthz").status_code == 200
        memory_processor.dispatcher.stop()
        response = running.get("/healthz")
    assert response.status_code == 503
    assert "dispatcher is not running" in response.json()["detail"]


def test_healthz_is_a_503_when_the_outbox_cannot_be_read(
    memory_processor: LocalProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webhook_processor.errors import StorageUnavailable

    def unreadable() -> None:
        raise StorageUnavailable("database is locked")

    monkeypatch.setattr(memory_processor.store, "backlogs", unreadable)
    with TestClient(create_app(memory_processor, run_dispatcher=False)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["detail"] == "the outbox cannot be read: database is locked"


def test_healthz_stays_200_and_says_degraded_while_a_sink_is_behind(
    memory_processor: LocalProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscriber that is behind is no reason to turn providers away: 200, and the words."""
    monkeypatch.setattr("webhook_processor.local.server.HEALTH_READING_SECONDS", 0.0)
    body, headers = signed("generic", encode(generic_body()))
    with TestClient(create_app(memory_processor, run_dispatcher=False)) as client:
        assert post(client, "generic", body, headers).status_code == 200
        assert client.get("/healthz").json() == {"status": "ok"}  # received just now
        memory_processor.clock = lambda: NOW + timedelta(minutes=5)
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "detail": "1 of the sinks is behind: the oldest undelivered event was received 300 s "
        "ago (see /status)",
    }


def test_healthz_reads_the_outbox_at_most_once_per_reading_interval(
    memory_processor: LocalProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/healthz answers anyone: asking it in a loop must not cost a reading each time."""
    readings: list[int] = []
    backlogs = memory_processor.store.backlogs

    def counted() -> dict[str, object]:
        readings.append(1)
        return backlogs()  # type: ignore[return-value]

    monkeypatch.setattr(memory_processor.store, "backlogs", counted)
    with TestClient(create_app(memory_processor, run_dispatcher=False)) as client:
        for _ in range(20):
            assert client.get("/healthz").status_code == 200
    assert len(readings) == 1
