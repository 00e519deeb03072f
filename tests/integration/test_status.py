"""Is each provider still sending? ``GET /status`` and ``webhook-processor status`` on a real
server: deliveries it counted itself on top of weeks of history, a quiet provider, and the
provider's own word on our endpoint (Square's webhook subscriptions, faked on loopback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.conftest import Server
from tests.support.square_events import SquareEventsFake, serving
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.quiet import WEEK, bucket_of

TOKEN = "EAAAl-square-personal-access-token"
WEEKS = 4


def _seed(data_dir: Path) -> None:
    """Four weeks of history ending now: stripe busy (30 a bucket) but silent for the last
    hour; square slow (1 a bucket) and steady."""
    data_dir.mkdir(parents=True, exist_ok=True)
    now = bucket_of(datetime.now(UTC))
    counts = {}
    for bucket in range(now - WEEKS * WEEK, now):
        if bucket < now - 12:
            counts["stripe", bucket] = 30
        counts["square", bucket] = 1
    store = SQLiteStore(data_dir / "webhooks.db")
    try:
        store.add_deliveries(counts)
    finally:
        store.close()


@pytest.fixture
def square() -> SquareEventsFake:
    fake = SquareEventsFake(TOKEN, subscriptions_per_page=1)
    fake.subscriptions = [
        {"id": "wbhk_other", "notification_url": "https://shop.example/hooks", "enabled": True},
        {
            "id": "wbhk_ours",
            "notification_url": "https://t.example/webhooks/square/",
            "enabled": False,
        },
    ]
    return fake


@pytest.fixture
def watched(
    tmp_path: Path, square: SquareEventsFake, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    _seed(tmp_path)
    with serving(square) as base:
        monkeypatch.setenv("WEBHOOK_API_KEY_SQUARE", TOKEN)
        monkeypatch.setenv("WEBHOOK_API_BASE_SQUARE", base)
        running = Server(tmp_path)
        running.start()
        yield running
        running.stop()


def _providers(document: dict[str, object]) -> dict[str, dict[str, object]]:
    rows = document["providers"]
    assert isinstance(rows, list)
    return {row["provider"]: row for row in rows}


def test_status_sees_the_quiet_provider_the_disabled_endpoint_and_the_servers_own_counts(
    watched: Server, square: SquareEventsFake
) -> None:
    with watched.client() as client:
        before = client.get("/status")
        assert before.status_code == 503
        assert before.headers["cache-control"] == "no-store"
        for _ in range(3):
            sent = watched.cli("send", "stripe", "--url", watched.url)
            assert sent.returncode == 0, sent.stderr
        after = client.get("/status")
    assert after.status_code == 503
    document = after.json()
    assert document["status"] == "attention"
    found = _providers(document)
    stripe, square_row = found["stripe"], found["square"]
    assert stripe["verdict"] == "quiet"
    assert stripe["usual"] == 90  # 30 a bucket over the 15-minute window
    assert _providers(before.json())["stripe"]["recent"] == 0
    assert stripe["recent"] == 3  # counted by the server as it answered them
    assert stripe["endpoint"] == "unknown"
    assert square_row["verdict"] == "ok"
    assert square_row["endpoint"] == "disabled"
    assert "wbhk_ours" in str(square_row["endpoint_detail"])
    listed = [r.path for r in square.requests if r.path.startswith("/v2/webhooks/")]
    assert len(listed) >= 2  # two pages of one subscription each
    assert "cursor=" in listed[1]


def test_the_status_command_prints_each_verdict_and_exits_1_when_a_person_is_needed(
    watched: Server,
) -> None:
    table = watched.cli("status")
    assert table.returncode == 1, table.stderr
    lines = {line.split()[0]: line.split() for line in table.stdout.splitlines()[1:]}
    assert lines["stripe"][1:2] == ["quiet"]
    assert lines["square"][1] == "ok"
    assert "disabled" in lines["square"]
    assert "needs a person: square, stripe; see docs/status.md" in table.stderr
    assert TOKEN not in table.stdout + table.stderr
    as_json = watched.cli("status", "--json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["status"] == "attention"
    assert _providers(document)["square"]["endpoint"] == "disabled"


def test_a_new_server_is_learning_and_answers_200(server: Server) -> None:
    sent = server.cli("send", "adyen", "--url", server.url)
    assert sent.returncode == 0, sent.stderr
    with server.client() as client:
        answer = client.get("/status")
    assert answer.status_code == 200
    [adyen] = answer.json()["providers"]
    assert (adyen["provider"], adyen["verdict"], adyen["recent"]) == ("adyen", "learning", 1)
    assert adyen["ready_at"] is not None
    table = server.cli("status")
    assert table.returncode == 0
    assert "learning" in table.stdout
    assert "verdicts from" in table.stdout


def test_the_counts_survive_a_restart(server: Server) -> None:
    sent = server.cli("send", "stripe", "--url", server.url)
    assert sent.returncode == 0, sent.stderr
    server.stop()  # written at shutdown
    server.start()
    with server.client() as client:
        [stripe] = client.get("/status").json()["providers"]
    assert stripe["recent"] == 1


def test_status_without_a_database_says_how_to_get_one(tmp_path: Path) -> None:
    ran = Server(tmp_path / "none").cli("status")
    assert ran.returncode == 2
    assert "start 'webhook-processor serve' first" in ran.stderr
