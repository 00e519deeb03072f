"""The inspector's first chart, in Chromium: each provider's deliveries against its usual band,
a quiet provider marked, the provider's word on its endpoint, and deliveries the real server
counted as it answered them. ``make screenshots`` keeps its picture in docs/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bench.traffic import EPOCH, PROFILES, simulate
from tests.integration.conftest import Server
from tests.integration.test_status import TOKEN
from tests.support.square_events import SquareEventsFake, serving
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.quiet import WEEK, bucket_of

pytestmark = pytest.mark.slow

PNG = b"\x89PNG\r\n\x1a\n"
#: The stylesheet's --bad and --ok.
RED = "rgb(179, 38, 30)"
GREEN = "rgb(31, 122, 62)"


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """Five simulated weeks ending now (stripe busy and silent for the last hour, square steady,
    adyen three deliveries a week), and Square's subscription that points at us disabled."""
    _seed(tmp_path)
    fake = SquareEventsFake(TOKEN)
    fake.subscriptions = [
        {
            "id": "wbhk_ours",
            "notification_url": "https://t.example/webhooks/square",
            "enabled": False,
        }
    ]
    with serving(fake) as base:
        monkeypatch.setenv("WEBHOOK_API_KEY_SQUARE", TOKEN)
        monkeypatch.setenv("WEBHOOK_API_BASE_SQUARE", base)
        server = Server(tmp_path)
        server.start()
        yield server
        server.stop()


def _seed(data_dir: Path) -> None:
    now = bucket_of(datetime.now(UTC))
    shift = now - 5 * WEEK - bucket_of(EPOCH)
    busy, steady, sparse = PROFILES[0], PROFILES[1], PROFILES[3]
    counts = {("stripe", b + shift): n for b, n in simulate(busy, 5, 1).items()}
    counts = {key: n for key, n in counts.items() if key[1] < now - 12}
    counts |= {("square", b + shift): n for b, n in simulate(steady, 5, 1).items()}
    counts |= {("adyen", b + shift): n for b, n in simulate(sparse, 5, 1).items()}
    store = SQLiteStore(data_dir / "webhooks.db")
    try:
        store.add_deliveries({key: n for key, n in counts.items() if key[1] < now})
    finally:
        store.close()


def test_the_chart_shows_the_usual_band_marks_the_quiet_provider_and_the_live_counts(
    page: Page, watched: Server, tmp_path: Path
) -> None:
    page.goto(watched.url)
    stripe = page.locator('.provider-traffic[data-provider="stripe"]')
    square = page.locator('.provider-traffic[data-provider="square"]')
    expect(stripe.locator("svg.chart")).to_be_visible()
    expect(stripe.locator(".verdict")).to_have_attribute("data-verdict", "quiet")
    expect(stripe.locator(".verdict")).to_have_class("verdict attention")
    expect(stripe.locator(".verdict")).to_contain_text("0 in the last 15 min, usually")
    assert stripe.locator("svg.chart rect.quiet").count() >= 2  # the silent hour, in steps
    assert stripe.locator("svg.chart polygon.band").count() == 1
    expect(square.locator(".verdict")).to_have_attribute("data-verdict", "ok")
    expect(square.locator(".verdict")).to_have_attribute("data-endpoint", "disabled")
    expect(square.locator(".verdict")).to_contain_text("disabled: wbhk_ours")
    assert square.locator("svg.chart rect.quiet").count() == 0
    points = stripe.locator("svg.chart polyline.received").get_attribute("points") or ""
    assert len(points.split()) == 96  # a day in quarter hours

    expect(stripe.locator(".badge.quiet")).to_have_css("color", RED)
    expect(square.locator(".badge.ok")).to_have_css("color", GREEN)
    expect(stripe.locator("svg.chart")).to_have_attribute(
        "aria-label",
        re.compile(r"^stripe: \d+ deliveries over the last day, 0 in the last 15 min "),
    )
    adyen = page.locator('.provider-traffic[data-provider="adyen"] .verdict')
    expect(adyen).to_have_attribute("data-verdict", "sparse")
    expect(adyen).to_contain_text("too few for silence to mean anything")
    expect(adyen).to_have_class("verdict")  # sparse needs no person either

    for provider in ("stripe", "generic"):
        sent = watched.cli("send", provider, "--url", watched.url)
        assert sent.returncode == 0, sent.stderr
    # Counted by the server as it answered, in the status line and in the chart's last step.
    expect(stripe.locator(".verdict")).to_contain_text("1 in the last 15 min, usually")
    expect(stripe.locator("svg.chart")).to_have_attribute(
        "aria-label",
        re.compile(r"^stripe: \d+ deliveries over the last day, 1 in the last 15 min "),
    )
    expect(stripe.locator(".verdict")).to_have_attribute("data-verdict", "quiet")
    generic = page.locator('.provider-traffic[data-provider="generic"] .verdict')
    expect(generic).to_have_attribute("data-verdict", "learning")
    expect(generic).to_contain_text("1 in the last 15 min; learning: verdicts from 20")
    expect(generic).to_have_class("verdict")  # learning needs no person

    page.locator('[data-span="week"]').click()
    expect(stripe.locator("svg.chart")).to_have_attribute(
        "aria-label",
        re.compile(
            r"^stripe: \d+ deliveries over the last week, 1 in the last 1 h .* of 168 steps$"
        ),
    )
    week = stripe.locator("svg.chart polyline.received").get_attribute("points") or ""
    assert len(week.split()) == 168  # a week in hours

    folder = Path(os.environ.get("INSPECTOR_SCREENSHOTS") or tmp_path)
    page.locator('[data-span="day"]').click()
    expect(stripe.locator("svg.chart")).to_have_attribute(
        "aria-label", re.compile("over the last day")
    )
    picture = page.locator("#traffic").screenshot(
        animations="disabled", path=folder / "inspector-traffic.png"
    )
    assert picture.startswith(PNG)
