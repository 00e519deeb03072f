"""The inspector's three main views with a little of everything in them, as screenshots.

``make screenshots`` runs this with ``INSPECTOR_SCREENSHOTS=docs`` to refresh the pictures
docs/local.md shows; in ``make test`` they go to a temporary directory, and the test still checks that
each view shows what its picture is meant to show.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Subscriber
from tests.browser.test_inspector import event_row, send_from_form
from tests.integration.conftest import Server

pytestmark = pytest.mark.slow

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_three_main_views_show_transactions_events_and_dead_letters(
    page: Page, served: Server, subscriber: Subscriber, tmp_path: Path
) -> None:
    folder = Path(os.environ.get("INSPECTOR_SCREENSHOTS") or tmp_path)
    page.goto(f"{served.url}/#events")
    for provider, amount, currency, txn in (
        ("stripe", "25.00", "USD", "pi_3MtwBwLkdIwHu7ix"),
        ("adyen", "120.00", "EUR", "PSP8816478123453"),
        ("square", "9.99", "USD", ""),
        ("generic", "1250", "JPY", "order_7731"),
    ):
        key = send_from_form(page, provider, amount, currency, txn)
        expect(event_row(page, key)).to_have_attribute("data-delivery", "delivered")
    subscriber.stop()
    dead = send_from_form(page, "stripe", "310.75", "GBP", "pi_3MtwC4LkdIwHu7iy")
    expect(event_row(page, dead)).to_have_attribute("data-delivery", "dead")
    page.locator("#send input[name=amount]").fill("19.99")
    page.locator("#send-result").evaluate("node => node.textContent = ''")

    shots = {}
    page.locator('[data-view="transactions"]').click()
    page.locator('#transactions tbody tr[data-key="stripe:pi_3MtwBwLkdIwHu7ix"]').click()
    expect(page.locator("#timeline tbody tr")).to_have_count(1)
    expect(page.locator("#transactions tbody tr[data-key]")).to_have_count(5)
    shots["transactions"] = page.screenshot(
        animations="disabled", path=folder / "inspector-transactions.png"
    )

    page.locator('[data-view="events"]').click()
    expect(page.locator("#events tbody tr[data-delivery=dead]")).to_have_count(1)
    expect(page.locator("#events tbody tr[data-delivery=delivered]")).to_have_count(4)
    shots["events"] = page.screenshot(animations="disabled", path=folder / "inspector-events.png")

    page.locator('[data-view="dead-letters"]').click()
    expect(page.locator("#dead-letters tbody tr[data-key]")).to_contain_text("310.75 GBP")
    shots["dead-letters"] = page.screenshot(
        animations="disabled", path=folder / "inspector-dead-letters.png"
    )

    for name, picture in shots.items():
        assert picture.startswith(PNG), name
        assert (folder / f"inspector-{name}.png").read_bytes() == picture
