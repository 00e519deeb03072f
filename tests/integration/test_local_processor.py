"""The local processor as a user runs it: a real server process, the CLI, real SQLite."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import httpx2 as httpx
import pytest

from tests.integration.conftest import Server
from tests.support.builders import encode, generic_body, signed
from tests.support.loopback import post
from webhook_processor.local.bootstrap import LocalConfig, local_secrets

pytestmark = pytest.mark.slow


def signed_generic(
    server: Server, message_id: str, **fields: object
) -> tuple[bytes, dict[str, str]]:
    """A generic delivery signed with the secret the server generated, at the real time."""
    secret = local_secrets(LocalConfig(data_dir=server.data_dir)).active("generic")[0]
    body = encode(generic_body(transaction_id=f"txn_{message_id}", **fields))
    return signed("generic", body, at=datetime.now(UTC), message_id=message_id, secret=secret)


def test_send_stripe_is_stored_listed_and_published_with_the_exact_amount(server: Server) -> None:
    sent = server.cli(
        "send", "stripe", "--amount", "19.99", "--currency", "USD", "--url", server.url
    )
    assert sent.returncode == 0, sent.stderr
    assert f"POST {server.url}/webhooks/stripe -> 200" in sent.stdout
    assert '"status":"accepted"' in sent.stdout

    listed = server.cli("transactions", "--json")
    assert listed.returncode == 0, listed.stderr
    [transaction] = json.loads(listed.stdout, parse_float=Decimal)
    assert '"amount":19.99,' in listed.stdout
    assert (transaction["amount"], transaction["currency"], transaction["status"]) == (
        Decimal("19.99"),
        "USD",
        "succeeded",
    )

    [line] = server.wait_published(1)
    assert line["data"]["amount"] == Decimal("19.99")
    assert '"amount":19.99,' in (server.data_dir / "events.jsonl").read_text()

    events = server.cli("events")
    assert "delivered" in events.stdout
    assert "19.99" in events.stdout


def test_send_a_refund_then_its_failure_and_the_transaction_says_so(server: Server) -> None:
    where = ("--url", server.url, "--transaction", "pi_books", "--currency", "EUR")
    steps = [
        ("--status", "succeeded", "--amount", "20"),
        ("--status", "refunded", "--amount", "5", "--refund", "re_books"),
        ("--status", "refund_failed", "--amount", "5", "--refund", "re_books"),
    ]
    for step in steps:
        sent = server.cli("send", "stripe", *where, *step)
        assert sent.returncode == 0, sent.stderr
        assert '"status":"accepted"' in sent.stdout
    shown = server.cli("transaction", "pi_books", "--json")
    answer = json.loads(shown.stdout, parse_float=Decimal)
    stored = answer["transaction"]
    assert (stored["status"], stored["captured"], stored["refunded"]) == (
        "succeeded",
        Decimal("20.00"),
        0,
    )
    [refund] = answer["movements"]
    assert (refund["movement_id"], refund["status"], refund["counted"]) == (
        "re_books",
        "failed",
        "no",
    )
    assert [row["reversed"] for row in answer["timeline"]] == [0, 0, Decimal("5.00")]


def test_send_adyen_batch_is_answered_accepted_and_stores_every_item(server: Server) -> None:
    sent = server.cli("send", "adyen", "--items", "3", "--amount", "5", "--url", server.url)
    assert sent.returncode == 0, sent.stderr
    assert f"POST {server.url}/webhooks/adyen -> 200" in sent.stdout
    assert "[accepted]" in sent.stdout
    listed = server.cli("events", "--json")
    events = json.loads(listed.stdout, parse_float=Decimal)
    assert sorted(e["event_type"] for e in events) == ["CAPTURE"] * 3
    assert {e["amount"] for e in events} == {Decimal("5.00")}


def test_send_square_signs_for_the_servers_own_url_out_of_the_box(server: Server) -> None:
    """No WEBHOOK_SQUARE_NOTIFICATION_URL: serve verifies against its own
    http://127.0.0.1:PORT/webhooks/square, which is what send signs for with --url."""
    sent = server.cli("send", "square", "--status", "refunded", "--url", server.url)
    assert sent.returncode == 0, sent.stderr
    assert '"status":"accepted"' in sent.stdout
    started = (server.data_dir / "server.log").read_text()
    assert f"square URL:  {server.url}/webhooks/square" in started
    elsewhere = server.cli("send", "square", "--url", server.url.replace("127.0.0.1", "localhost"))
    assert elsewhere.returncode == 1
    assert "invalid_signature" in elsewhere.stdout


def test_send_refuses_items_for_a_provider_that_does_not_batch(server: Server) -> None:
    sent = server.cli("send", "stripe", "--items", "2", "--url", server.url)
    assert sent.returncode == 2
    assert "stripe delivers one event per request" in sent.stderr


def test_send_reports_a_rejection_and_exits_non_zero(server: Server) -> None:
    sent = server.cli("send", "generic", "--amount", "1.999", "--url", server.url)
    assert sent.returncode != 0
    assert "more than 2 decimal places" in (sent.stdout + sent.stderr)


def test_fifty_concurrent_deliveries_of_one_event_store_and_publish_it_once(server: Server) -> None:
    body, headers = signed_generic(server, "msg_race")
    barrier = threading.Barrier(50)

    def deliver(_: int) -> httpx.Response:
        with server.client() as client:
            barrier.wait()
            return post(client, "generic", body, headers)

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(deliver, range(50)))
    assert {response.status_code for response in results} == {200}
    statuses = [response.json()["status"] for response in results]
    assert statuses.count("accepted") == 1
    assert statuses.count("duplicate") == 49

    listed = json.loads(server.cli("events", "--json").stdout)
    assert [e["key"] for e in listed] == ["generic:msg_race"]
    server.wait_published(1)
    time.sleep(1.0)  # a second publication, if there were one, would land by now
    assert [line["event_id"] for line in server.published()] == ["msg_race"]


def test_a_second_server_on_the_same_data_directory_is_refused(server: Server) -> None:
    second = Server(server.data_dir)
    with pytest.raises(RuntimeError, match="in use by another webhook-processor serve"):
        second.start()
    with server.client() as client:
        assert client.get("/healthz").status_code == 200
