"""The inspector's page and JSON API in process: what each endpoint answers, who it answers, and
the bad-input standard of the webhook route (a specific 4xx, a short detail, no trace)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.builders import NOW, SECRETS, encode, generic_body, signed, stripe_event
from tests.support.hostile_inputs import MAX_ERROR_RESPONSE_BYTES
from tests.support.loopback import post
from tests.support.stores import dead_letters, recent_events
from webhook_processor.local.bootstrap import LocalProcessor
from webhook_processor.local.inspector.api import redact
from webhook_processor.local.server import create_app
from webhook_processor.quiet import WEEK, bucket_of

ORIGIN = "http://127.0.0.1:8080"
SAME_ORIGIN = {"origin": ORIGIN, "content-type": "application/json"}
TOKEN = "a-token-of-thirty-two-characters"


def client_for(processor: LocalProcessor, base_url: str = ORIGIN) -> TestClient:
    return TestClient(create_app(processor, run_dispatcher=False), base_url=base_url)


@pytest.fixture
def client(processor: LocalProcessor) -> Iterator[TestClient]:
    """The inspector of a SQLite processor (the real store the pages read), bound to loopback."""
    with client_for(processor) as test_client:
        yield test_client


def file_sink(processor: LocalProcessor) -> str:
    [sink] = processor.dispatcher.sinks
    return sink.name


def store_some(client: TestClient) -> None:
    for n, amount in enumerate((1999, 500, 12)):
        body = encode(stripe_event(event_id=f"evt_{n}", id=f"pi_{n}", amount=amount))
        assert post(client, "stripe", *signed("stripe", body)).status_code == 200
    assert post(client, "generic", *signed("generic", encode(generic_body()))).status_code == 200


# -- the page ----------------------------------------------------------------------------------


def test_the_page_and_its_assets_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for asset in ("inspector.js", "inspector.css", "favicon.svg"):
        assert f"/inspector/assets/{asset}" in page.text
        assert client.get(f"/inspector/assets/{asset}").status_code == 200
    # Nothing the page loads comes from elsewhere.
    assert "http" not in page.text.replace("http-equiv", "")
    assert client.get("/inspector/assets/missing.js").status_code == 404
    assert client.get("/inspector/assets/../bootstrap.py").status_code == 404


# -- reads -------------------------------------------------------------------------------------


def test_summary_counts_what_the_webhook_route_answered(client: TestClient) -> None:
    store_some(client)
    assert post(client, "stripe", *signed("stripe", encode(stripe_event()))).status_code == 200
    post(client, "stripe", b"{}", {"content-type": "application/json"})  # unsigned
    post(client, "nowhere", b"{}", {"content-type": "application/json"})

    summary = client.get("/inspector/api/summary").json()
    counters = summary["counters"]
    assert {k: counters[k] for k in ("received", "stored", "duplicates", "rejected")} == {
        "received": 7,
        "stored": 4,
        "duplicates": 1,
        "rejected": 2,
    }
    assert counters["rejected_by_reason"] == {"invalid_signature": 1, "unknown_provider": 1}
    assert [(r["provider"], r["reason"], r["status"]) for r in summary["rejections"]] == [
        ("nowhere", "unknown_provider", 404),
        ("stripe", "invalid_signature", 401),
    ]
    assert summary["providers"] == ["adyen", "generic", "square", "stripe"]
    assert "refunded" in summary["transaction_statuses"]


def test_listings_carry_exact_amounts_as_text_and_page_by_cursor(client: TestClient) -> None:
    store_some(client)
    first = client.get("/inspector/api/transactions", params={"limit": 2}).json()
    # One clock for every event: ties are broken by provider, then id, latest first.
    assert [t["transaction_id"] for t in first["items"]] == ["pi_2", "pi_1"]
    rest = client.get("/inspector/api/transactions", params={"cursor": first["next"]}).json()
    amounts = {t["transaction_id"]: t["amount"] for t in first["items"] + rest["items"]}
    assert amounts == {"pi_0": "19.99", "pi_1": "5.00", "pi_2": "0.12", "txn_1": "19.99"}
    assert rest["next"] is None

    events = client.get("/inspector/api/events", params={"provider": "stripe"}).json()["items"]
    assert [e["key"] for e in events] == ["stripe:evt_2", "stripe:evt_1", "stripe:evt_0"]
    assert {e["delivery"] for e in events} == {"pending"}
    [sink] = events[0]["sinks"]
    assert (sink["state"], sink["attempts"]) == ("pending", 0)
    found = client.get("/inspector/api/events", params={"q": "evt_1"}).json()["items"]
    assert [e["key"] for e in found] == ["stripe:evt_1"]


def test_a_timeline_and_the_transactions_it_finds(client: TestClient) -> None:
    store_some(client)
    answer = client.get(
        "/inspector/api/timeline", params={"provider": "stripe", "transaction_id": "pi_1"}
    ).json()
    assert answer["transaction"]["amount"] == "5.00"
    assert [row["event_id"] for row in answer["timeline"]] == ["evt_1"]
    assert answer["truncated"] is False
    missing = client.get(
        "/inspector/api/timeline", params={"provider": "stripe", "transaction_id": "pi_9"}
    )
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no stripe transaction 'pi_9'"


# -- actions -----------------------------------------------------------------------------------


def test_send_signs_a_test_event_and_runs_it_through_the_pipeline(
    client: TestClient, processor: LocalProcessor
) -> None:
    for provider in processor.providers:
        body = {"provider": provider, "amount": "12.30", "currency": "eur", "status": "succeeded"}
        answer = client.post("/inspector/api/send", json=body, headers=SAME_ORIGIN)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "accepted"
        [event_id] = answer.json()["event_ids"]
        stored = processor.store.get_event(provider, event_id)
        assert stored is not None
        assert (str(stored.amount), stored.currency) == ("12.30", "EUR")
    counters = client.get("/inspector/api/summary").json()["counters"]
    assert (counters["received"], counters["stored"]) == (4, 4)


def test_send_answers_what_the_pipeline_refuses_as_the_webhook_route_does(
    client: TestClient,
) -> None:
    body = {"provider": "generic", "amount": "1.5", "currency": "JPY", "status": "succeeded"}
    answer = client.post("/inspector/api/send", json=body, headers=SAME_ORIGIN)
    assert answer.status_code == 400
    assert (
        answer.json()["detail"] == "amount 1.5 has more than 0 decimal places, the most JPY allows"
    )
    # The sample could not be built, so nothing was received: no webhook to count.
    counters = client.get("/inspector/api/summary").json()["counters"]
    assert (counters["received"], counters["rejected"]) == (0, 0)


def test_redrive_queues_one_or_every_dead_letter(
    client: TestClient, processor: LocalProcessor
) -> None:
    store_some(client)
    for n in range(3):
        key = f"stripe:evt_{n}"
        processor.store.fail_delivery(file_sink(processor), key, "disk full", at=NOW, retry_at=None)
    letters = client.get("/inspector/api/dead-letters", params={"limit": 2}).json()
    assert [d["key"] for d in letters["items"]] == ["stripe:evt_0", "stripe:evt_1"]
    assert letters["next"] is not None

    one = client.post(
        "/inspector/api/redrive",
        json={"keys": ["stripe:evt_1", "stripe:evt_9"]},
        headers=SAME_ORIGIN,
    )
    assert one.json() == {
        "queued": 1,
        "keys": ["stripe:evt_1"],
        "not_dead_letters": ["stripe:evt_9"],
    }
    every = client.post("/inspector/api/redrive", json={"all": True}, headers=SAME_ORIGIN)
    assert every.json()["queued"] == 2
    assert sorted(every.json()["keys"]) == ["stripe:evt_0", "stripe:evt_2"]
    assert dead_letters(processor.store) == []


# -- who is answered ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},  # no Origin: not from the page
        {**SAME_ORIGIN, "origin": "http://evil.example"},
        {**SAME_ORIGIN, "origin": "http://127.0.0.1:9999"},  # another port is another origin
        {**SAME_ORIGIN, "origin": "null"},
        {**SAME_ORIGIN, "sec-fetch-site": "cross-site"},
    ],
)
def test_a_cross_site_action_is_refused_and_changes_nothing(
    client: TestClient, processor: LocalProcessor, headers: dict[str, str]
) -> None:
    store_some(client)
    processor.store.fail_delivery(
        file_sink(processor), "stripe:evt_0", "disk full", at=NOW, retry_at=None
    )
    answer = client.post("/inspector/api/redrive", json={"all": True}, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"
    assert len(dead_letters(processor.store)) == 1


def test_a_page_naming_another_host_is_refused_even_on_loopback(
    processor: LocalProcessor,
) -> None:
    # DNS rebinding: evil.example resolved to 127.0.0.1 still sends its own name as Host.
    with client_for(processor, "http://evil.example:8080") as rebound:
        answer = rebound.get("/inspector/api/summary")
    assert answer.status_code == 403
    assert "loopback host only" in answer.json()["detail"]
    with client_for(processor, "http://localhost:8080") as local:
        assert local.get("/inspector/api/summary").status_code == 200


@pytest.mark.parametrize(
    "header",
    ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "via"],
)
def test_without_a_token_a_request_through_a_proxy_is_refused(
    client: TestClient, header: str
) -> None:
    # nginx's default proxy_pass rewrites Host to the loopback address it proxies to.
    answer = client.get("/inspector/api/events", headers={header: "203.0.113.5"})
    assert answer.status_code == 403
    assert "came through a proxy" in answer.json()["detail"]


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_another_sites_page_cannot_make_the_server_read_for_it(
    client: TestClient, site: str
) -> None:
    answer = client.get("/inspector/api/events", headers={"sec-fetch-site": site})
    assert answer.status_code == 403
    assert client.get("/", headers={"sec-fetch-site": site}).status_code == 200  # a link


@pytest.mark.parametrize(
    "host", ["evil.example@127.0.0.1", "127.0.0.1#@evil.example", "127.0.0.1:abc", "localhost/x"]
)
def test_a_host_header_that_is_more_than_a_host_is_refused(client: TestClient, host: str) -> None:
    answer = client.get("/inspector/api/summary", headers={"host": host})
    assert answer.status_code == 403


def test_bound_beyond_loopback_only_the_token_opens_it(tmp_path: Any) -> None:
    from tests.conftest import ENVIRON
    from webhook_processor.local.bootstrap import LocalConfig, build_local

    def built(token: str | None) -> LocalProcessor:
        config = LocalConfig(
            data_dir=tmp_path / str(token), base_url="http://10.0.0.5:8080", inspector_token=token
        )
        return build_local(config, environ=ENVIRON)

    open_one, guarded = built(None), built(TOKEN)
    try:
        with client_for(open_one, "http://10.0.0.5:8080") as client:
            refused = client.get("/")
            assert refused.status_code == 403
            assert "served on loopback only" in refused.json()["detail"]
        with client_for(guarded, "http://10.0.0.5:8080") as client:
            assert client.get("/").status_code == 403
            wrong_token = {"authorization": "Bearer " + "x" * 32}
            wrong = client.get("/inspector/api/summary", headers=wrong_token)
            assert wrong.status_code == 403
            bearer = {"authorization": f"Bearer {TOKEN}"}
            assert client.get("/inspector/api/summary", headers=bearer).status_code == 200
            opened = client.get(f"/?token={TOKEN}", follow_redirects=False)
            assert opened.status_code == 303
            assert opened.headers["location"] == "/"
            assert opened.headers["set-cookie"] == (
                f"webhook_inspector_8080={TOKEN}; Path=/; HttpOnly; SameSite=Strict"
            )
            # The cookie it set opens the page and the API from now on.
            assert client.get("/").status_code == 200
            assert client.get("/inspector/api/summary").status_code == 200
            # With the cookie, a query that is not the token sets nothing (no attributes of the
            # sender's choosing in Set-Cookie): it is only a page view.
            injected = client.get("/?token=a%3B%20Domain%3Devil.example", follow_redirects=False)
            assert injected.status_code == 200
            assert "set-cookie" not in injected.headers
            # Behind a proxy, the token still opens it.
            proxied = {**bearer, "x-forwarded-for": "203.0.113.5"}
            assert client.get("/inspector/api/summary", headers=proxied).status_code == 200
    finally:
        open_one.close()
        guarded.close()


def test_nothing_the_inspector_answers_shows_a_secret_or_a_subscribers_credentials(
    client: TestClient, processor: LocalProcessor
) -> None:
    store_some(client)
    answers = [client.get("/").text]
    for name in ("summary", "transactions", "events", "dead-letters"):
        answers.append(client.get(f"/inspector/api/{name}").text)
    for secret in SECRETS.values():
        assert all(secret not in answer for answer in answers)
    assert redact("http:https://user:pw@hooks.example/in?key=abc failed") == (
        "http:https://***@hooks.example/in?*** failed"
    )
    assert redact("http:https://hooks.slack.com/services/T000/B000/XXXX") == (
        "http:https://hooks.slack.com/services/***"
    )
    assert redact("http://user:p@ss@127.0.0.1:1/hook") == "http://***@127.0.0.1:1/hook"


# -- bad input: the webhook route's standard --------------------------------------------------

BAD_INPUTS: dict[str, tuple[str, str, Any, dict[str, str], int, str, str]] = {
    # name: method, path, query or JSON body, headers, status, error code, detail
    "unknown parameter": (
        "GET",
        "/inspector/api/events",
        {"provder": "stripe"},
        {},
        400,
        "invalid_parameter",
        "unknown parameter 'provder'",
    ),
    "repeated parameter": (
        "GET",
        "/inspector/api/events?provider=stripe&provider=adyen",
        None,
        {},
        400,
        "invalid_parameter",
        "given more than once",
    ),
    "unknown provider": (
        "GET",
        "/inspector/api/events",
        {"provider": "paypal"},
        {},
        400,
        "invalid_parameter",
        "provider 'paypal' is not one of",
    ),
    "unknown span": (
        "GET",
        "/inspector/api/volume",
        {"span": "month"},
        {},
        400,
        "invalid_parameter",
        "span 'month' is not one of day, week",
    ),
    "unknown status": (
        "GET",
        "/inspector/api/transactions",
        {"status": "paid"},
        {},
        400,
        "invalid_parameter",
        "status 'paid' is not one of",
    ),
    "limit zero": (
        "GET",
        "/inspector/api/events",
        {"limit": "0"},
        {},
        400,
        "invalid_parameter",
        "limit must be a whole number from 1 to 100",
    ),
    "limit too big": (
        "GET",
        "/inspector/api/events",
        {"limit": "1000000"},
        {},
        400,
        "invalid_parameter",
        "from 1 to 100",
    ),
    "limit not a number": (
        "GET",
        "/inspector/api/events",
        {"limit": "1e3"},
        {},
        400,
        "invalid_parameter",
        "from 1 to 100",
    ),
    "forged cursor": (
        "GET",
        "/inspector/api/events",
        {"cursor": "eyJhIjoxfQ"},
        {},
        400,
        "invalid_parameter",
        "cursor is not one this listing gave",
    ),
    "search too long": (
        "GET",
        "/inspector/api/events",
        {"q": "x" * 1000},
        {},
        400,
        "invalid_parameter",
        "q is 1000 characters",
    ),
    "control characters": (
        "GET",
        "/inspector/api/events",
        {"q": "evt\x00"},
        {},
        400,
        "invalid_parameter",
        "control characters",
    ),
    "query too large": (
        "GET",
        "/inspector/api/events?q=" + "x" * 5000,
        None,
        {},
        400,
        "invalid_parameter",
        "query string is 5002 bytes",
    ),
    "query not UTF-8": (
        "GET",
        "/inspector/api/events?q=%ff",
        None,
        {},
        400,
        "invalid_parameter",
        "not URL-encoded UTF-8",
    ),
    "timeline without id": (
        "GET",
        "/inspector/api/timeline",
        {"provider": "stripe"},
        {},
        400,
        "invalid_parameter",
        "transaction_id is required",
    ),
    "unknown endpoint": (
        "GET",
        "/inspector/api/secrets",
        None,
        {},
        404,
        "not_found",
        "no route",
    ),
    "read by POST": (
        "POST",
        "/inspector/api/events",
        {},
        SAME_ORIGIN,
        405,
        "method_not_allowed",
        "takes GET, not POST",
    ),
    "action by GET": (
        "GET",
        "/inspector/api/redrive",
        None,
        {},
        405,
        "method_not_allowed",
        "takes POST",
    ),
    "form body": (
        "POST",
        "/inspector/api/redrive",
        "all=true",
        {**SAME_ORIGIN, "content-type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        "is not application/json",
    ),
    "not JSON": (
        "POST",
        "/inspector/api/redrive",
        "{all: true",
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "body is not valid JSON",
    ),
    "JSON not an object": (
        "POST",
        "/inspector/api/redrive",
        [],
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "body must be a JSON object, got list",
    ),
    "body too large": (
        "POST",
        "/inspector/api/redrive",
        {"keys": ["k" * 70_000]},
        SAME_ORIGIN,
        413,
        "payload_too_large",
        "65536",
    ),
    "deeply nested": (
        "POST",
        "/inspector/api/redrive",
        "[" * 30_000 + "]" * 30_000,
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "body is not valid JSON",
    ),
    "redrive neither": (
        "POST",
        "/inspector/api/redrive",
        {},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        'give either "keys": [...] or "all": true',
    ),
    "redrive both": (
        "POST",
        "/inspector/api/redrive",
        {"keys": ["stripe:evt_0"], "all": True},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "give either",
    ),
    "redrive all not a boolean": (
        "POST",
        "/inspector/api/redrive",
        {"all": "yes"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "all must be true or false",
    ),
    "redrive key not text": (
        "POST",
        "/inspector/api/redrive",
        {"keys": [1]},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "each key must be a string, got int",
    ),
    "redrive too many keys": (
        "POST",
        "/inspector/api/redrive",
        {"keys": ["k"] * 101},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "the limit is 100",
    ),
    "send unknown field": (
        "POST",
        "/inspector/api/send",
        {"provider": "stripe", "secret": "x"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "unknown field 'secret'",
    ),
    "send without amount": (
        "POST",
        "/inspector/api/send",
        {"provider": "stripe", "currency": "USD", "status": "succeeded"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "amount is required",
    ),
    "send amount as a number": (
        "POST",
        "/inspector/api/send",
        {"provider": "stripe", "amount": 19.99, "currency": "USD", "status": "succeeded"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "amount must be a string, got float",
    ),
    "send amount in exponent form": (
        "POST",
        "/inspector/api/send",
        {"provider": "stripe", "amount": "1e9999", "currency": "USD", "status": "succeeded"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "plain decimal amount like 19.99",
    ),
    "send amount in another script's digits": (
        "POST",
        "/inspector/api/send",
        {"provider": "stripe", "amount": "\u0661\u0662", "currency": "USD", "status": "succeeded"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "plain decimal amount",
    ),
    "send transaction id too long": (
        "POST",
        "/inspector/api/send",
        {
            "provider": "stripe",
            "amount": "5",
            "currency": "USD",
            "status": "succeeded",
            "transaction_id": "t" * 256,
        },
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "transaction_id is 256 characters; the limit is 255",
    ),
    "send negative amount": (
        "POST",
        "/inspector/api/send",
        {"provider": "stripe", "amount": "-5", "currency": "USD", "status": "succeeded"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "plain decimal amount",
    ),
    "send bad currency": (
        "POST",
        "/inspector/api/send",
        {"provider": "stripe", "amount": "5", "currency": "US$", "status": "succeeded"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "three-letter ISO 4217 code",
    ),
    "send unknown provider": (
        "POST",
        "/inspector/api/send",
        {"provider": "paypal", "amount": "5", "currency": "USD", "status": "succeeded"},
        SAME_ORIGIN,
        400,
        "invalid_parameter",
        "provider 'paypal' is not one of",
    ),
}


def _request(client: TestClient, case: str) -> Any:
    method, path, given, headers, *_ = BAD_INPUTS[case]
    if method == "GET":
        return client.get(path, params=given, headers=headers)
    content = given if isinstance(given, str) else json.dumps(given)
    return client.post(path, content=content, headers=headers)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_a_specific_4xx_and_changes_nothing(
    case: str, client: TestClient, processor: LocalProcessor
) -> None:
    store_some(client)
    processor.store.fail_delivery(
        file_sink(processor), "stripe:evt_0", "disk full", at=NOW, retry_at=None
    )
    before = client.get("/inspector/api/summary").json()["counters"]
    *_, status, code, detail = BAD_INPUTS[case]

    response = _request(client, case)

    assert response.status_code == status, response.text[:2000]
    assert len(response.content) <= MAX_ERROR_RESPONSE_BYTES
    assert response.json()["error"] == code
    assert detail in response.json()["detail"]
    assert client.get("/inspector/api/summary").json()["counters"] == before
    assert len(recent_events(processor.store, 10)) == 4
    assert len(dead_letters(processor.store)) == 1


def test_completeness_counts_each_providers_days_and_says_what_was_never_reconciled(
    client: TestClient,
) -> None:
    store_some(client)
    answer = client.get("/inspector/api/completeness", params={"days": 2}).json()
    assert answer["listable"] == []  # no events-API key in this environment
    rows = {(r["provider"], r["day"]): r for r in answer["items"]}
    assert {day for _, day in rows} == {"2026-11-28", "2026-11-27"}
    stripe = rows["stripe", "2026-11-28"]
    assert (stripe["webhook"], stripe["recovered"], stripe["listed"]) == (3, 0, None)
    assert stripe["reconciled"] == "never: no key"
    assert rows["adyen", "2026-11-28"]["reconciled"] == "no events API"
    assert rows["stripe", "2026-11-27"]["webhook"] == 0


def _busy_then_silent(processor: LocalProcessor) -> None:
    """Four weeks of stripe at 30 deliveries a bucket, none in the last hour before NOW."""
    end = bucket_of(NOW)
    processor.store.add_deliveries({("stripe", b): 30 for b in range(end - 4 * WEEK, end - 12)})


def test_status_judges_the_counted_providers_with_what_the_webhook_route_just_verified(
    client: TestClient, processor: LocalProcessor
) -> None:
    _busy_then_silent(processor)
    store_some(client)  # three stripe deliveries and a generic one, counted at NOW

    answer = client.get("/inspector/api/status")

    assert answer.status_code == 200  # a read; GET /status is the one that answers 503
    document = answer.json()
    assert (document["status"], document["at"]) == ("attention", NOW.isoformat())
    rows = {row["provider"]: row for row in document["providers"]}
    assert list(rows) == ["generic", "stripe"]
    assert rows["stripe"] == {
        "provider": "stripe",
        "verdict": "quiet",
        "recent": 3,
        "usual": 90,
        "window_minutes": 15,
        "ratio": round(3 / 90, 3),
        "endpoint": "unknown",
        "endpoint_detail": "not asked: no events-API key",
        "ready_at": None,
    }
    generic = rows["generic"]
    assert (generic["verdict"], generic["recent"], generic["usual"]) == ("learning", 1, None)
    assert datetime.fromisoformat(generic["ready_at"]) == NOW + timedelta(days=22)
    monitor = client.get("/status")
    assert (monitor.status_code, monitor.json()) == (503, document)


def test_volume_draws_a_day_in_quarter_hours_by_default_and_a_week_in_hours(
    client: TestClient, processor: LocalProcessor
) -> None:
    _busy_then_silent(processor)
    store_some(client)

    day = client.get("/inspector/api/volume").json()
    week = client.get("/inspector/api/volume", params={"span": "week"}).json()

    assert (day["span"], week["span"]) == ("day", "week")
    charts = {c["provider"]: c for c in day["providers"]}
    assert list(charts) == ["generic", "stripe"]
    stripe = charts["stripe"]
    assert (stripe["step_minutes"], len(stripe["points"])) == (15, 96)
    first, *_, silent, last = stripe["points"]
    assert set(first) == {"at", "received", "usual", "low", "high", "verdict"}
    assert (first["received"], first["usual"], first["low"], first["high"]) == (90, 90, 90, 90)
    assert first["verdict"] == "ok"
    assert (silent["received"], silent["verdict"]) == (0, "quiet")
    # The last step holds the deliveries of a moment ago, and says what the status line says.
    assert (last["received"], last["verdict"]) == (3, "quiet")
    assert datetime.fromisoformat(last["at"]) == NOW - timedelta(minutes=10)
    assert [p["usual"] for p in charts["generic"]["points"]] == [None] * 96
    [stripe_week] = [c for c in week["providers"] if c["provider"] == "stripe"]
    assert (stripe_week["step_minutes"], len(stripe_week["points"])) == (60, 168)
    assert stripe_week["points"][-1]["received"] == 3


@pytest.mark.parametrize("days", ["0", "32", "x", "1.5", "\uff17"])
def test_completeness_refuses_a_day_count_out_of_range(client: TestClient, days: str) -> None:
    answer = client.get("/inspector/api/completeness", params={"days": days})
    assert answer.status_code == 400
    assert "days must be a whole number of days from 1 to 31" in answer.json()["detail"]
