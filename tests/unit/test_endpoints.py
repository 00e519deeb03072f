"""Asking the provider whether our endpoint is still there and enabled: Stripe's webhook
endpoints and Square's webhook subscriptions, paged as documented, and the verdict."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from tests.support.recorded import Recorded
from webhook_processor import codec
from webhook_processor.errors import ProviderApiError
from webhook_processor.reconcile.apis import Endpoint, SquareEvents, StripeEvents
from webhook_processor.reconcile.endpoints import EndpointState, check_endpoints, ours
from webhook_processor.reconcile.transport import Response


def _stripe_page(*endpoints: tuple[str, str, str], has_more: bool) -> Response:
    data = [
        {"id": i, "object": "webhook_endpoint", "url": url, "status": status}
        for i, url, status in endpoints
    ]
    return Response(
        200, codec.dumps({"object": "list", "data": data, "has_more": has_more}).encode()
    )


def _square_page(*subscriptions: tuple[str, str, bool], cursor: str | None = None) -> Response:
    page: dict[str, Any] = {
        "subscriptions": [
            {"id": i, "name": "ours", "notification_url": url, "enabled": enabled}
            for i, url, enabled in subscriptions
        ]
    }
    if cursor:
        page["cursor"] = cursor
    return Response(200, codec.dumps(page).encode())


def test_stripe_endpoints_are_paged_by_the_last_id_and_read_with_their_status() -> None:
    transport = Recorded(
        _stripe_page(("we_1", "https://a.example/webhooks/stripe", "enabled"), has_more=True),
        _stripe_page(("we_2", "https://b.example/other", "disabled"), has_more=False),
    )
    api = StripeEvents("sk_test_key", "https://api.stripe.com", transport)
    assert api.endpoints() == [
        Endpoint("we_1", "https://a.example/webhooks/stripe", True),
        Endpoint("we_2", "https://b.example/other", False),
    ]
    urls = [urllib.parse.urlsplit(url) for _, url, _, _ in transport.requests]
    assert {url.path for url in urls} == {"/v1/webhook_endpoints"}
    assert [dict(urllib.parse.parse_qsl(url.query)) for url in urls] == [
        {"limit": "100"},
        {"limit": "100", "starting_after": "we_1"},
    ]


def test_square_subscriptions_include_the_disabled_and_follow_the_cursor() -> None:
    transport = Recorded(
        _square_page(("s1", "https://a.example/webhooks/square", False), cursor="c1"),
        _square_page(("s2", "https://a.example/webhooks/square/", True)),
    )
    api = SquareEvents("EAAA-token", "https://connect.squareup.com", transport)
    assert api.endpoints() == [
        Endpoint("s1", "https://a.example/webhooks/square", False),
        Endpoint("s2", "https://a.example/webhooks/square/", True),
    ]
    queries = [
        dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(u).query))
        for _, u, _, _ in transport.requests
    ]
    assert queries == [
        {"include_disabled": "true", "limit": "100"},
        {"include_disabled": "true", "limit": "100", "cursor": "c1"},
    ]
    assert {h["Square-Version"] for _, _, h, _ in transport.requests} == {"2026-08-19"}


@pytest.mark.parametrize(
    ("api", "answers", "message"),
    [
        (
            "stripe",
            [Response(401, b'{"error": {"type": "invalid_request_error", "message": "bad key"}}')],
            "the stripe webhook endpoints API answered 401: invalid_request_error bad key",
        ),
        ("stripe", [Response(200, b'{"data": [{"id": "we_1"}]}')], "without an id or a URL"),
        (
            "stripe",
            [
                _stripe_page(("we_1", "https://a/webhooks/stripe", "enabled"), has_more=True),
                _stripe_page(("we_1", "https://a/webhooks/stripe", "enabled"), has_more=True),
            ],
            "listed the same page again",
        ),
        (
            "square",
            [_square_page(cursor="c1"), _square_page(cursor="c1")],
            "a cursor that cannot be followed",
        ),
        ("square", [Response(200, b'{"cursor": 7}')], "a cursor that cannot be followed"),
    ],
)
def test_an_endpoint_listing_that_cannot_be_read_is_the_apis_failure(
    api: str, answers: list[Response], message: str
) -> None:
    client = (
        StripeEvents("sk_test_key", "https://api.stripe.com", Recorded(*answers))
        if api == "stripe"
        else SquareEvents("EAAA-token", "https://connect.squareup.com", Recorded(*answers))
    )
    with pytest.raises(ProviderApiError, match=message):
        client.endpoints()


def test_endpoint_listings_stop_at_the_page_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("webhook_processor.reconcile.apis.MAX_PAGES", 2)
    pages = [
        _stripe_page((f"we_{n}", "https://a/webhooks/stripe", "enabled"), has_more=True)
        for n in range(2)
    ]
    with pytest.raises(ProviderApiError, match="more than 2 pages"):
        StripeEvents("sk_test_key", "https://api.stripe.com", Recorded(*pages)).endpoints()
    square = [_square_page(cursor=f"c{n}") for n in range(2)]
    with pytest.raises(ProviderApiError, match="more than 2 pages"):
        SquareEvents("EAAA-token", "https://connect.squareup.com", Recorded(*square)).endpoints()


class Listed:
    provider = "stripe"

    def __init__(self, *endpoints: Endpoint, failure: ProviderApiError | None = None) -> None:
        self._endpoints = list(endpoints)
        self._failure = failure

    def endpoints(self) -> list[Endpoint]:
        if self._failure is not None:
            raise self._failure
        return self._endpoints


ENABLED = Endpoint("we_1", "https://hooks.example/webhooks/stripe", True)
DISABLED = Endpoint("we_2", "https://old.example/webhooks/stripe/", False)
ELSEWHERE = Endpoint("we_3", "https://hooks.example/webhooks/stripe-connect", False)


@pytest.mark.parametrize(
    ("listed", "state", "detail"),
    [
        ([ENABLED, ELSEWHERE], EndpointState.ENABLED, "1 enabled"),
        (
            [ENABLED, DISABLED],
            EndpointState.DISABLED,
            "disabled: we_2 (https://old.example/webhooks/stripe/)",
        ),
        (
            [ELSEWHERE],
            EndpointState.MISSING,
            "no endpoint of the 1 listed sends to /webhooks/stripe",
        ),
        ([], EndpointState.MISSING, "no endpoint of the 0 listed sends to /webhooks/stripe"),
    ],
)
def test_the_verdict_is_about_the_endpoints_that_point_at_our_route(
    listed: list[Endpoint], state: EndpointState, detail: str
) -> None:
    check = check_endpoints(Listed(*listed))
    assert (check.state, check.detail) == (state, detail)
    assert check.down is (state is not EndpointState.ENABLED)


def test_an_api_that_fails_gives_an_unknown_verdict_with_its_reason() -> None:
    failure = ProviderApiError("stripe", "answered 500: api_error", api="webhook endpoints API")
    check = check_endpoints(Listed(failure=failure))
    assert check.state is EndpointState.UNKNOWN
    assert not check.down
    assert check.detail == "not known: the stripe webhook endpoints API answered 500: api_error"


def test_our_endpoints_are_matched_on_the_path_only() -> None:
    found = ours("stripe", [ENABLED, DISABLED, ELSEWHERE, Endpoint("x", "not a url", True)])
    assert found == [ENABLED, DISABLED]
