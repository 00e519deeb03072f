"""Recovering what Stripe never delivered, against localstripe (a stateful Stripe emulator) on
loopback, driven with the official ``stripe`` library.

Payments are made while localstripe's webhook points at a port nobody listens on, so every
delivery fails, as it does for an endpoint that is down or disabled. ``webhook-processor
reconcile stripe`` then lists the events through ``GET /v1/events`` and stores the missed ones;
the server publishes each once, and a late delivery of one is a duplicate.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests.integration.conftest import CLI, Server, free_port
from tests.oracles import stripe as stripe_oracle

SECRET = stripe_oracle.SECRET
API_KEY = "sk_test_reconcile"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


@pytest.fixture
def unreachable(localstripe: str) -> str:
    """localstripe, its webhook pointed at a closed loopback port: every delivery fails."""
    stripe.api_base = localstripe
    stripe.api_key = API_KEY
    stripe.max_network_retries = 0
    nowhere = f"http://127.0.0.1:{free_port()}/webhooks/stripe"
    form = urllib.parse.urlencode({"url": nowhere, "secret": SECRET})
    urllib.request.urlopen(
        f"{localstripe}/_config/webhooks/processor", data=form.encode(), timeout=5
    ).close()
    return localstripe


def _pay(count: int) -> list[str]:
    """``count`` card payments; the ids of the intents."""
    intents = []
    for _ in range(count):
        customer = stripe.Customer.create(email="payer@example.com")
        method = stripe.PaymentMethod.create(type="card", card=CARD)
        stripe.PaymentMethod.attach(method.id, customer=customer.id)
        intent = stripe.PaymentIntent.create(
            amount=1250,
            currency="eur",
            customer=customer.id,
            payment_method=method.id,
            confirm=True,
        )
        intents.append(str(intent.id))
    return intents


def _payment_events(intents: list[str]) -> list[str]:
    """The ids of every payment event Stripe's API lists (localstripe lives for the module:
    earlier tests' payments are there too), those of ``intents`` among them."""
    listed = [
        event
        for event in stripe.Event.list(limit=100).auto_paging_iter()
        if event.type.startswith("payment_intent.")
    ]
    assert {event.data.object.id for event in listed} >= set(intents)
    return sorted(event.id for event in listed)


def _reconcile(data_dir: Path, api: str, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "WEBHOOK_API_KEY_STRIPE": API_KEY,
        "WEBHOOK_API_BASE_STRIPE": api,
        "WEBHOOK_SECRET_STRIPE": SECRET,
    }
    return subprocess.run(
        [*CLI, "reconcile", "stripe", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environ,
    )


def _report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    assert API_KEY not in done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _published(server: Server, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(published := server.published()) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return published


def _deliver_again(server: Server, event_id: str) -> dict[str, Any]:
    """The event as the API serves it, delivered late to the server, signed as Stripe signs."""
    event = stripe.Event.retrieve(event_id)
    body, headers = stripe_oracle.sign(json.dumps(event.to_dict()).encode(), at=datetime.now(UTC))
    request = urllib.request.Request(
        f"{server.url}/webhooks/stripe", data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        reply: dict[str, Any] = json.loads(answer.read())
        return reply


def test_missed_events_are_recovered_then_published_by_the_next_serve(
    unreachable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server is down while Stripe sends: a dry run counts, a run stores, the next
    ``serve`` publishes each once, a second run recovers nothing."""
    missed = _payment_events(_pay(3))
    count = len(missed)
    assert count >= 3

    dry = _report(_reconcile(tmp_path, unreachable, "--since", "1h", "--dry-run", "--json"))
    assert (dry["recovered"], dry["already_stored"], dry["dry_run"]) == (count, 0, True)
    assert dry["listed"] == dry["recovered"] + dry["already_stored"] + dry["ignored"]
    again = _report(_reconcile(tmp_path, unreachable, "--since", "1h", "--dry-run", "--json"))
    assert again["recovered"] == count  # the dry run stored nothing

    first = _report(_reconcile(tmp_path, unreachable, "--since", "1h", "--json"))
    assert (first["provider"], first["recovered"], first["already_stored"]) == (
        "stripe",
        count,
        0,
    )
    assert set(first) >= {"since", "until", "listed", "ignored"}

    monkeypatch.setenv("WEBHOOK_SECRET_STRIPE", SECRET)
    server = Server(tmp_path)
    server.start()
    try:
        published = _published(server, count)
        assert sorted(p["event_id"] for p in published) == missed
        assert {p["data"]["arrival"] for p in published} == {"reconciliation"}
        second = _report(_reconcile(tmp_path, unreachable, "--since", "1h", "--json"))
        assert (second["recovered"], second["already_stored"]) == (0, count)
        time.sleep(1.0)  # the dispatcher's poll is 0.5 s: nothing more must come
        assert len(server.published()) == count
    finally:
        server.stop()


def test_events_recovered_while_serve_runs_are_published_by_it_and_a_late_webhook_is_a_duplicate(
    unreachable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET_STRIPE", SECRET)
    server = Server(tmp_path)
    server.start()
    try:
        missed = _payment_events(_pay(2))
        report = _report(_reconcile(tmp_path, unreachable, "--since", "1h", "--json"))
        assert report["recovered"] == len(missed)
        published = _published(server, len(missed))
        assert sorted(p["event_id"] for p in published) == missed

        late = _deliver_again(server, missed[0])
        assert late["status"] == "duplicate"
        stored = server.cli("events", "--json")
        assert stored.returncode == 0, stored.stderr
        keys = {f"stripe:{event_id}" for event_id in missed}
        events = [e for e in json.loads(stored.stdout) if e["key"] in keys]
        assert len(events) == len(missed)
        assert {e["arrival"] for e in events} == {"reconciliation"}
        time.sleep(1.0)
        assert len(server.published()) == len(missed)  # the duplicate was not published
    finally:
        server.stop()


def test_a_summary_for_people_says_who_publishes(unreachable: str, tmp_path: Path) -> None:
    _pay(1)
    done = _reconcile(tmp_path, unreachable, "--since", "1h")
    assert done.returncode == 0, done.stderr
    assert "stripe: listed" in done.stdout
    assert re.search(r": recovered [1-9]", done.stdout), done.stdout
    assert "published when 'webhook-processor serve' next runs" in done.stdout
    assert API_KEY not in done.stdout + done.stderr


def test_serve_reconciles_on_its_own_resumes_after_a_restart_and_the_report_shows_it(
    unreachable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missed = _payment_events(_pay(1))
    for name, value in (
        ("WEBHOOK_SECRET_STRIPE", SECRET),
        ("WEBHOOK_API_KEY_STRIPE", API_KEY),
        ("WEBHOOK_API_BASE_STRIPE", unreachable),
    ):
        monkeypatch.setenv(name, value)
    server = Server(tmp_path, options=("--reconcile-every", "15m"))
    server.start()
    try:
        published = _published(server, len(missed))
        assert sorted(p["event_id"] for p in published) == missed
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert re.search(rf"reconciled stripe: listed \d+, recovered {len(missed)}\n", log), log
    assert API_KEY not in log

    restarted = Server(tmp_path, options=("--reconcile-every", "15m"))
    restarted.start()
    try:
        deadline = time.monotonic() + 20
        while log.count("reconciled stripe") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            log = (tmp_path / "server.log").read_text()
        # From the stored mark less the overlap: nothing listed again is recovered again.
        runs = re.findall(r"reconciled stripe: listed \d+, recovered (\d+)", log)
        assert runs == [str(len(missed)), "0"], log
        report = restarted.cli("completeness", "--since", "1d", "--json")
    finally:
        restarted.stop()
    assert report.returncode == 0, report.stderr
    today = next(
        row
        for row in json.loads(report.stdout)
        if row["provider"] == "stripe" and row["day"] == datetime.now(UTC).date().isoformat()
    )
    assert today["recovered"] >= len(missed)
    assert today["listed"] >= today["recovered"]
    assert today["reconciled"] in ("part", "whole")
    assert len(restarted.published()) == len(missed)
