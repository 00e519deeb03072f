"""Every registered provider through the local HTTP server: accepted, duplicate, refused,
ignored; secret rotation; Adyen's batches and its prescribed reply. The Lambda receiver runs the
same deliveries (tests/integration/test_lambda_providers.py) and must answer the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support.builders import NOW
from tests.support.deliveries import (
    NEW_SECRETS,
    PROVIDERS,
    STRANGER_SECRETS,
    deliveries,
    rotating_secrets,
    signed_sample,
)
from tests.support.loopback import post
from tests.support.stores import recent_events
from webhook_processor.local.bootstrap import LocalConfig, LocalProcessor, build_local
from webhook_processor.local.server import create_app
from webhook_processor.publishing.memory import MemorySink
from webhook_processor.storage.memory import MemoryStore


def answer(
    client: TestClient, provider: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    response = post(client, provider, body, headers)
    return response.status_code, response.text


@pytest.fixture
def client(memory_processor: LocalProcessor) -> Iterator[TestClient]:
    with TestClient(create_app(memory_processor, run_dispatcher=False)) as test_client:
        yield test_client


@pytest.fixture
def rotating(tmp_path: Path) -> Iterator[tuple[TestClient, LocalProcessor]]:
    """The local processor while every provider's secret rotates: two active secrets each."""
    environ = {
        f"WEBHOOK_SECRET_{name.upper()}": value for name, value in rotating_secrets().items()
    }
    built = build_local(
        LocalConfig(data_dir=tmp_path),
        environ=environ,
        clock=lambda: NOW,
        store=MemoryStore(),
        sinks=[MemorySink()],
    )
    with TestClient(create_app(built, run_dispatcher=False)) as test_client:
        yield test_client, built


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_is_accepted_then_duplicate_and_unsigned_or_tampered_is_401(
    provider: str, client: TestClient, memory_processor: LocalProcessor
) -> None:
    statuses = [answer(client, provider, d.body, d.headers)[0] for d in deliveries(provider)]
    assert statuses[:4] == [200, 200, 401, 401]
    assert statuses[4:] in ([], [200])  # an ignored type, where the provider has one
    [stored] = recent_events(memory_processor.store, 10)
    assert (stored.event.provider, str(stored.event.amount)) == (provider, "12.34")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_during_a_rotation_either_active_secret_passes_and_a_third_is_401(
    provider: str, rotating: tuple[TestClient, LocalProcessor]
) -> None:
    client, processor = rotating
    old = signed_sample(provider, "o1")
    new = signed_sample(provider, "n1", secret=NEW_SECRETS[provider])
    stranger = signed_sample(provider, "x1", secret=STRANGER_SECRETS[provider])
    assert answer(client, provider, old.body, old.headers)[0] == 200
    assert answer(client, provider, new.body, new.headers)[0] == 200
    status, text = answer(client, provider, stranger.body, stranger.headers)
    assert status == 401
    assert json.loads(text)["error"] == "invalid_signature"
    assert len(recent_events(processor.store, 10)) == 2


def test_adyen_batch_of_three_stores_three_redelivery_none_and_replies_accepted(
    client: TestClient, memory_processor: LocalProcessor
) -> None:
    batch = signed_sample("adyen", "B", items=3)
    response = post(client, "adyen", batch.body, batch.headers)
    assert (response.status_code, response.text) == (200, "[accepted]")
    assert response.headers["content-type"].startswith("text/plain")
    assert len(recent_events(memory_processor.store, 10)) == 3
    again = post(client, "adyen", batch.body, batch.headers)
    assert (again.status_code, again.text) == (200, "[accepted]")
    assert len(recent_events(memory_processor.store, 10)) == 3


def test_adyen_batch_with_one_tampered_item_is_refused_whole(
    client: TestClient, memory_processor: LocalProcessor
) -> None:
    notification = json.loads(signed_sample("adyen", "T", items=3).body)
    notification["notificationItems"][2]["NotificationRequestItem"]["amount"]["value"] += 1
    response = post(client, "adyen", json.dumps(notification).encode(), {})
    assert response.status_code == 401
    assert "notificationItems[3]" in response.json()["detail"]
    assert recent_events(memory_processor.store, 10) == []
