"""The inspector page as a person uses it, in headless Chromium against a real ``serve``.

Nothing here reloads the page: what changes on the server reaches it by itself.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from tests.browser.conftest import Subscriber
from tests.integration.conftest import Server, free_port
from tests.support.square_events import SquareEventsFake, serving
from webhook_processor.providers.base import Sample
from webhook_processor.providers.square import SquareProvider

pytestmark = pytest.mark.slow

TOKEN = "inspector-test-token-0123456789"
#: Beyond loopback: every interface (the test itself only ever connects to 127.0.0.1).
ANYWHERE = "0.0.0.0"  # noqa: S104 - the case under test


def send_from_form(page: Page, provider: str, amount: str, currency: str, txn: str) -> str:
    """Fill in and submit the "send test event" form; the stored event's key."""
    form = page.locator("#send")
    form.locator("select[name=provider]").select_option(provider)
    form.locator("input[name=amount]").fill(amount)
    form.locator("input[name=currency]").fill(currency)
    form.locator("select[name=status]").select_option("succeeded")
    form.locator("input[name=transaction_id]").fill(txn)
    form.locator("button[type=submit]").click()
    result = page.locator("#send-result")
    expect(result).to_contain_text("accepted: ")
    key = result.get_attribute("data-key")
    assert key is not None
    assert key.startswith(f"{provider}:")
    return key


def event_row(page: Page, key: str) -> Any:
    return page.locator(f'#events tbody tr[data-key="{key}"]')


def sink_state(row: Any, sink_url: str) -> Any:
    return row.locator(f'.sink[data-sink="http:{sink_url}"] .badge')


def test_a_sent_event_appears_stored_then_delivered_and_opens_its_timeline(
    page: Page, served: Server, subscriber: Subscriber
) -> None:
    log = (served.data_dir / "server.log").read_text()
    assert f"inspector:   {served.url}/\n" in log  # what `make run` prints
    # Its "try:" line reaches this server, not the default one.
    assert f"--currency USD --url {served.url} --data-dir {served.data_dir}\n" in log
    page.goto(f"{served.url}/#events")
    expect(page.locator("#live")).to_contain_text("live")

    key = send_from_form(page, "stripe", "42.10", "EUR", "pi_browser_1")

    row = event_row(page, key)
    expect(row).to_have_count(1)
    expect(row.locator(".badge.stored")).to_have_text("stored")
    expect(row).to_contain_text("42.10 EUR")
    expect(row).to_have_attribute("data-delivery", "delivered")
    expect(sink_state(row, subscriber.url)).to_have_text("delivered")
    expect(page.locator('[data-counter="published"]')).to_have_text("2")  # file and subscriber
    assert len(subscriber.received) == 1

    page.locator('[data-view="transactions"]').click()
    transaction = page.locator('#transactions tbody tr[data-key="stripe:pi_browser_1"]')
    expect(transaction).to_contain_text("succeeded")
    expect(transaction).to_contain_text("42.10")
    transaction.click()
    timeline = page.locator("#timeline")
    expect(timeline).to_be_visible()
    expect(page.locator("#timeline-title")).to_have_text("stripe pi_browser_1")
    event_id = key.split(":", 1)[1]
    expect(timeline.locator(f'tbody tr[data-event="{event_id}"]')).to_contain_text("succeeded")


def test_a_stopped_subscriber_makes_a_dead_letter_the_page_redrives(
    page: Page, served: Server, subscriber: Subscriber
) -> None:
    page.goto(f"{served.url}/#events")
    subscriber.stop()
    key = send_from_form(page, "generic", "7.00", "USD", "txn_browser_dead")

    row = event_row(page, key)
    expect(row).to_have_attribute("data-delivery", "dead")
    expect(sink_state(row, subscriber.url)).to_have_text("dead")
    expect(row.locator("td.error")).to_contain_text("127.0.0.1")
    expect(page.locator('[data-counter="dead"]')).to_have_text("1")

    page.locator('[data-view="dead-letters"]').click()
    letter = page.locator(f'#dead-letters tbody tr[data-key="{key}|http:{subscriber.url}"]')
    expect(letter).to_contain_text("7.00 USD")

    subscriber.start()
    letter.locator("button.redrive").click()
    expect(page.locator("#redrive-result")).to_have_text(f"queued 1: {key}")
    expect(page.locator("#dead-letters tbody tr[data-key]")).to_have_count(0)

    page.locator('[data-view="events"]').click()
    expect(row).to_have_attribute("data-delivery", "delivered")
    expect(sink_state(row, subscriber.url)).to_have_text("delivered")
    assert len(subscriber.received) == 1


@pytest.fixture
def attacker() -> Iterator[str]:
    """A page of another site (``localhost``, not ``127.0.0.1``) that posts to the inspector."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target = self.path.split("?target=", 1)[1]
            page = (
                "<!doctype html><form id=f method=POST enctype=text/plain "
                f'action="{target}/inspector/api/redrive">'
                '<input name=\'{"all":true,"x":"\' value=\'"}\'></form>'
                "<script>document.getElementById('f').submit()</script>"
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_cross_site_post_to_redrive_is_refused(
    page: Page, served: Server, subscriber: Subscriber, attacker: str
) -> None:
    page.goto(f"{served.url}/#events")
    subscriber.stop()
    send_from_form(page, "square", "3.30", "USD", "")
    page.locator('[data-view="dead-letters"]').click()
    expect(page.locator("#dead-letters tbody tr[data-key]")).to_have_count(1)

    answers: list[Response] = []
    attack = page.context.new_page()
    attack.on("response", lambda r: answers.append(r) if "/inspector/api/" in r.url else None)
    attack.goto(f"{attacker}/attack?target={served.url}")
    attack.wait_for_load_state()
    expect(attack.locator("body")).to_contain_text("cross-site request refused")
    assert [answer.status for answer in answers] == [403]

    with served.client() as client:
        listed = client.get("/inspector/api/dead-letters").json()
    assert len(listed["items"]) == 1, "the cross-site POST redrove the dead letter"


def test_bound_beyond_loopback_the_page_needs_the_token(browser: Browser, tmp_path: Any) -> None:
    without = Server(tmp_path / "open", host=ANYWHERE)
    with_token = Server(
        tmp_path / "token",
        host=ANYWHERE,
        options=("--inspector-token", TOKEN),
    )
    for server in (without, with_token):
        server.data_dir.mkdir()
        server.start()
    try:
        context = browser.new_context()
        page = context.new_page()
        refused = page.goto(f"{without.url}/")
        assert refused is not None
        assert refused.status == 403
        expect(page.locator("body")).to_contain_text("served on loopback only")

        refused = page.goto(f"{with_token.url}/")
        assert refused is not None
        assert refused.status == 403
        expect(page.locator("body")).to_contain_text("needs its access token")

        page.goto(f"{with_token.url}/?token={TOKEN}")
        assert page.url == f"{with_token.url}/#transactions"
        expect(page.locator("#live")).to_contain_text("live")
        context.close()
        log = (without.data_dir / "server.log").read_text()
        assert "inspector:   not served on 0.0.0.0 without --inspector-token" in log
    finally:
        for server in (without, with_token):
            server.stop()


def test_a_recovered_event_is_marked_and_the_completeness_view_counts_it(
    page: Page, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event ``reconcile`` found in Square's events API (the fake, on loopback) while the
    server runs: the events view marks it recovered, the completeness view counts it."""
    token = "EAAA-browser-square-token"
    fake = SquareEventsFake(token, enabled=True)
    spec = Sample(
        event_id="sq-browser-1",
        amount=Decimal("3.50"),
        currency="USD",
        status="succeeded",
        created=datetime.now(UTC) - timedelta(minutes=2),
    )
    fake.add(SquareProvider().sample(spec))
    with serving(fake) as base:
        monkeypatch.setenv("WEBHOOK_API_KEY_SQUARE", token)
        monkeypatch.setenv("WEBHOOK_API_BASE_SQUARE", base)
        server = Server(tmp_path)
        server.start()
        try:
            done = server.cli("reconcile", "square", "--since", "1h")
            assert done.returncode == 0, done.stderr
            page.goto(f"{server.url}/#events")
            row = event_row(page, "square:sq-browser-1")
            expect(row.locator(".badge.recovered")).to_have_text("recovered")
            expect(row).to_have_attribute("data-delivery", "delivered")

            page.locator('[data-view="completeness"]').click()
            # The day the event happened on: two minutes before the test, maybe yesterday.
            today = spec.created.date().isoformat()
            square = page.locator(f'#completeness tbody tr[data-key="square:{today}"]')
            expect(square).to_have_attribute("data-reconciled", "part")
            expect(square.locator("td").nth(3)).to_have_text("1")  # recovered
            expect(page.locator("#completeness-listable")).to_contain_text("square")
            adyen = page.locator(f'#completeness tbody tr[data-key="adyen:{today}"]')
            expect(adyen).to_have_attribute("data-reconciled", "no events API")
        finally:
            server.stop()
