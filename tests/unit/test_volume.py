"""``serve``'s delivery counts and its watch on the providers' endpoints: counts written in
batches and never lost to a store that fails, the endpoint check on its schedule, the status
document and the chart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from webhook_processor.errors import StorageUnavailable
from webhook_processor.local.secrets import LocalSecrets
from webhook_processor.local.volume import (
    DeliveryCounter,
    Watch,
    ask_endpoints,
    charts,
    history_start,
    status_document,
    statuses,
)
from webhook_processor.quiet import WEEK, History, bucket_of
from webhook_processor.reconcile.endpoints import EndpointCheck, EndpointState
from webhook_processor.storage.memory import MemoryStore

NOW = datetime(2026, 12, 2, 14, 7, tzinfo=UTC)


class FailingOnce(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    def add_deliveries(self, counts: Mapping[tuple[str, int], int]) -> None:
        if self.fail:
            self.fail = False
            raise StorageUnavailable("disk full")
        super().add_deliveries(counts)


def test_counts_are_kept_when_the_store_cannot_take_them_and_written_next_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FailingOnce()
    counter = DeliveryCounter(store, clock=lambda: NOW)
    counter.count("stripe")
    counter.count("stripe")
    counter.flush()
    assert store.delivery_histories(0) == []
    assert "delivery counts not written, kept for the next try" in caplog.text
    counter.count("stripe")
    [stripe] = counter.histories(0)  # flushes first
    assert stripe.total(0, 10**9) == 3
    assert stripe.since == bucket_of(NOW)


def test_the_watch_writes_on_every_tick_and_asks_the_providers_on_its_own_schedule() -> None:
    store = MemoryStore()
    counter = DeliveryCounter(store, clock=lambda: NOW)
    asked: list[int] = []
    seconds = [0.0]
    disabled = EndpointCheck("square", EndpointState.DISABLED, "disabled: wbhk_1 (https://x)")

    def ask() -> dict[str, EndpointCheck]:
        asked.append(1)
        return {"square": disabled}

    watch = Watch(counter, ask, check_seconds=900, monotonic=lambda: seconds[0])
    assert watch.endpoints == {}
    counter.count("square")
    watch.tick()
    assert store.delivery_histories(0)[0].total(0, 10**9) == 1
    assert (len(asked), watch.endpoints) == (1, {"square": disabled})
    seconds[0] = 899
    watch.tick()
    assert len(asked) == 1
    seconds[0] = 900
    watch.tick()
    assert len(asked) == 2


def test_a_check_that_raises_keeps_the_last_answers_and_the_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def ask() -> dict[str, EndpointCheck]:
        raise RuntimeError("boom")

    watch = Watch(DeliveryCounter(MemoryStore()), ask, flush_seconds=0.01)
    watch.start()
    watch.stop()
    assert "endpoint check failed unexpectedly (RuntimeError)" in caplog.text
    assert watch.endpoints == {}


def test_a_provider_asked_about_but_never_counted_is_learning_from_now() -> None:
    check = EndpointCheck("square", EndpointState.MISSING, "no endpoint of the 0 listed")
    [found] = statuses([], {"square": check}, NOW)
    assert found.assessment.verdict.value == "learning"
    assert found.needs_attention  # the provider says it sends nothing to us
    assert found.as_json()["endpoint"] == "missing"


def test_the_status_document_is_ok_until_a_provider_needs_a_person() -> None:
    end = bucket_of(NOW)
    history = History("stripe", dict.fromkeys(range(end - 4 * WEEK, end - 12), 30), end - 4 * WEEK)
    document = status_document([history], {}, NOW)
    assert document["status"] == "attention"
    [row] = document["providers"]
    assert row == {
        "provider": "stripe",
        "verdict": "quiet",
        "recent": 0,
        "usual": 90,
        "window_minutes": 15,
        "ratio": 0.0,
        "endpoint": "unknown",
        "endpoint_detail": "not asked: no events-API key",
        "ready_at": None,
    }
    steady = History("stripe", dict.fromkeys(range(end - 4 * WEEK, end + 1), 30), end - 4 * WEEK)
    assert status_document([steady], {}, NOW)["status"] == "ok"


def test_the_chart_has_a_step_per_quarter_hour_for_a_day_and_per_hour_for_a_week() -> None:
    end = bucket_of(NOW)
    history = History("stripe", dict.fromkeys(range(end - 5 * WEEK, end + 1), 2), end - 5 * WEEK)
    [day] = charts([history], NOW, "day")
    [week] = charts([history], NOW, "week")
    assert (day["step_minutes"], len(day["points"])) == (15, 96)
    assert (week["step_minutes"], len(week["points"])) == (60, 168)
    last = day["points"][-1]
    assert (last["received"], last["usual"], last["low"], last["high"]) == (6, 6, 6, 6)
    # The last step holds the bucket still filling (14:05 to 14:10): 13:55 to 14:10.
    assert datetime.fromisoformat(last["at"]) == NOW.replace(minute=0) - timedelta(minutes=5)
    assert history_start(NOW) < end - 4 * WEEK


def test_the_charts_last_step_holds_what_was_just_delivered_and_the_status_lines_verdict() -> None:
    end = bucket_of(NOW)
    counts = dict.fromkeys(range(end - 4 * WEEK, end - 12), 30)  # silent for the last hour
    counts[end] = 1  # a moment ago, in the bucket still filling
    history = History("stripe", counts, end - 4 * WEEK)
    [day] = charts([history], NOW, "day")
    [row] = status_document([history], {}, NOW)["providers"]
    last = day["points"][-1]
    assert last["received"] == row["recent"] == 1
    assert last["verdict"] == row["verdict"] == "quiet"


def test_endpoints_are_asked_only_with_a_key_and_a_bad_key_is_said(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"api_keys": {"stripe": "sk_test_ok"}}))
    environ = {"WEBHOOK_API_BASE_STRIPE": "http://api.example.com"}
    found = ask_endpoints(LocalSecrets(secrets_file, environ), environ)
    assert list(found) == ["stripe"]
    assert found["stripe"].state is EndpointState.UNKNOWN
    assert found["stripe"].detail.startswith("not asked: the stripe API root")
    assert ask_endpoints(LocalSecrets(tmp_path / "none.json", {}), {}) == {}


def test_a_sink_whose_oldest_undelivered_event_is_older_than_the_bound_is_behind() -> None:
    from webhook_processor.local.volume import lane_statuses, stale_detail, status_document
    from webhook_processor.storage.base import Backlog

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    backlogs = {
        "http:slow": Backlog(3, 2, now - timedelta(seconds=200)),
        "file:x": Backlog(1, 0, now - timedelta(seconds=5)),
    }
    lanes = lane_statuses(["file:x", "http:slow", "http:idle"], backlogs, now, stale_after=120)
    assert [(lane.sink, lane.pending, lane.stale) for lane in lanes] == [
        ("file:x", 1, False),
        ("http:slow", 3, True),
        ("http:idle", 0, False),
    ]
    assert stale_detail(lanes) == (
        "1 of the sinks is behind: the oldest undelivered event was received 200 s ago "
        "(see /status)"
    )
    assert stale_detail(lanes[:1]) is None
    document = status_document([], {}, now, lanes=lanes)
    assert document["status"] == "attention"
    assert document["sinks"][1] == {
        "sink": "http:slow",
        "pending": 3,
        "dead": 2,
        "oldest_undelivered_at": "2026-12-03T11:56:40+00:00",
        "oldest_undelivered_seconds": 200.0,
        "stale": True,
    }
    assert status_document([], {}, now, lanes=lanes[:1])["status"] == "ok"
