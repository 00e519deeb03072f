"""Square's SearchEvents through ``SquareEvents`` and a ``Reconciler``, over loopback HTTP,
against the fake written from Square's reference (:mod:`tests.support.square_events`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import NOW
from tests.support.square_events import RETENTION, SquareEventsFake, serving
from webhook_processor.errors import ProviderNotConfigured
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.model import Arrival
from webhook_processor.providers.base import Sample
from webhook_processor.providers.square import SquareProvider
from webhook_processor.reconcile.apis import SQUARE_VERSION, SquareEvents
from webhook_processor.reconcile.run import (
    DEFAULT_SINCE,
    ReconcileFailed,
    Reconciler,
    ReconcileStore,
    Source,
)
from webhook_processor.reconcile.transport import http_transport
from webhook_processor.storage.journal import Listing
from webhook_processor.storage.memory import MemoryStore

TOKEN = "EAAAl-personal-access-token-of-the-fake"
SAMPLES = Path(__file__).parents[1] / "events" / "square"

#: The stores a reconciliation is run on, each built in a test's own directory. The SQLite
#: store joins once it keeps the journal (``claim_reconciliation`` and the rest).
STORES: dict[str, Callable[[Path], ReconcileStore]] = {
    "memory": lambda _directory: MemoryStore(),
    "sqlite": lambda directory: SQLiteStore(directory / "webhooks.db"),
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReconcileStore]:
    made = STORES[request.param](tmp_path)
    yield made
    close = getattr(made, "close", None)
    if close is not None:
        close()


@pytest.fixture
def fake() -> SquareEventsFake:
    """Square for one application, events disabled as on a new one, its clock at NOW."""
    return SquareEventsFake(TOKEN, clock=lambda: NOW)


@pytest.fixture
def base(fake: SquareEventsFake) -> Iterator[str]:
    with serving(fake) as url:
        yield url


def _api(base: str, token: str = TOKEN) -> SquareEvents:
    return SquareEvents(token, base, http_transport(timeout=5))


def _reconciler(api: SquareEvents, store: ReconcileStore) -> Reconciler:
    source = Source(api, SquareProvider().normalise)
    return Reconciler({"square": source}, store, clock=lambda: NOW)


def _sample(name: str, at: datetime, status: str = "succeeded") -> bytes:
    """A Square webhook body, as ``webhook-processor send`` builds it."""
    spec = Sample(event_id=name, amount=Decimal("12.50"), currency="USD", status=status, created=at)
    return SquareProvider().sample(spec)


def _documented(name: str, event_id: str, at: datetime) -> dict[str, Any]:
    """One of Square's documented webhook bodies, created at ``at``."""
    document: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return document | {"event_id": event_id, "created_at": at.isoformat().replace("+00:00", "Z")}


def _listed_ids(fake: SquareEventsFake) -> list[str]:
    return [event["event_id"] for search in fake.searches() for event in search.answered["events"]]


def test_pages_smaller_than_the_limit_are_followed_and_every_event_is_recovered_once(
    fake: SquareEventsFake, base: str, store: ReconcileStore
) -> None:
    fake.page_sizes = (3, 1, 0, 2)  # fewer than asked, one page empty, while more remain
    api = _api(base)
    api.enable()
    names = [f"sq-evt-{n}" for n in range(9)]
    assert fake.add(*(_sample(name, NOW - timedelta(hours=9 - n)) for n, name in enumerate(names)))
    window_start = NOW - timedelta(hours=72)

    report = _reconciler(api, store).run("square", since=window_start)

    assert (report.count(Listing.RECOVERED), len(report.listings)) == (9, 9)
    assert sorted(listed.event_id for listed in report.listings) == sorted(names)
    for name in names:
        stored = store.get_event("square", name)
        assert stored is not None
        assert stored.arrival == Arrival.RECONCILIATION
    searches = fake.searches()
    assert [len(search.answered.get("events", [])) for search in searches] == [3, 1, 0, 2, 3]
    # Each page asked for the original query, with the cursor the page before answered.
    assert [search.body.get("cursor") for search in searches] == [
        None,
        *(search.answered["cursor"] for search in searches[:-1]),
    ]
    assert "cursor" not in searches[-1].answered
    assert all(search.body["query"] == searches[0].body["query"] for search in searches)
    assert searches[0].body == {
        "limit": 100,
        "query": {
            "filter": {
                "created_at": {
                    "start_at": "2026-11-25T12:00:00.000000Z",
                    "end_at": "2026-11-28T12:00:00.000000Z",
                }
            },
            "sort": {"field": "DEFAULT", "order": "ASC"},
        },
    }
    assert {
        (search.headers["authorization"], search.headers["square-version"]) for search in searches
    } == {(f"Bearer {TOKEN}", SQUARE_VERSION)}
    assert {search.headers["content-type"] for search in searches} == {"application/json"}

    again = _reconciler(api, store).run("square", since=window_start)
    assert (again.count(Listing.RECOVERED), again.count(Listing.ALREADY_STORED)) == (0, 9)


def test_an_empty_or_malformed_token_is_refused_before_anything_is_sent(
    fake: SquareEventsFake, base: str
) -> None:
    for token in ("", "EAAA token", "EAAA\r\nX-Injected: 1", "EAAA\u2019"):
        with pytest.raises(ProviderNotConfigured, match="API key is malformed") as refused:
            _api(base, token)
        assert token not in refused.value.detail or not token
    assert fake.requests == []


@pytest.mark.parametrize("token", ["EAAAl-a-token-square-does-not-know"])
def test_a_token_square_refuses_fails_the_run_naming_square_and_the_401_never_the_token(
    fake: SquareEventsFake, base: str, store: ReconcileStore, token: str
) -> None:
    fake.enabled = True
    fake.add(_sample("sq-evt-1", NOW - timedelta(hours=1)))

    with pytest.raises(ReconcileFailed) as failed:
        _reconciler(_api(base, token), store).run("square")

    message = str(failed.value)
    assert message.startswith("the square events API answered 401: AUTHENTICATION_ERROR")
    assert "UNAUTHORIZED" in message
    assert failed.value.status == 401
    assert failed.value.provider == "square"
    for secret in filter(None, (token, TOKEN)):
        assert secret not in message
        assert secret not in repr(failed.value)
    assert fake.searches()[0].headers["authorization"] == f"Bearer {token}"
    assert store.get_event("square", "sq-evt-1") is None
    assert store.reconciled_until("square") is None


def test_events_created_while_disabled_are_never_listed_and_after_enable_new_ones_are(
    fake: SquareEventsFake, base: str, store: ReconcileStore
) -> None:
    api = _api(base)
    assert fake.add(_sample("sq-before", NOW - timedelta(hours=2))) == 0
    before = _reconciler(api, store).run("square")
    assert len(before.listings) == 0
    assert fake.searches()[-1].answered == {}  # disabled: an empty result, not an error

    api.enable()
    enabling = fake.requests[-1]
    assert (enabling.method, enabling.path, enabling.status) == ("PUT", "/v2/events/enable", 200)
    assert enabling.headers["authorization"] == f"Bearer {TOKEN}"
    assert fake.enabled
    assert fake.add(_sample("sq-after", NOW - timedelta(hours=1))) == 1

    after = _reconciler(api, store).run("square", since=NOW - timedelta(hours=72))
    assert [(listed.event_id, listed.outcome) for listed in after.listings] == [
        ("sq-after", Listing.RECOVERED)
    ]
    assert store.get_event("square", "sq-before") is None


def test_payment_and_refund_events_are_normalised_and_other_types_counted_ignored(
    fake: SquareEventsFake, base: str, store: ReconcileStore
) -> None:
    fake.enabled = True
    at = NOW - timedelta(hours=3)
    fake.add(
        _documented("payment.updated", "sq-payment", at),
        _documented("refund.updated", "sq-refund", at + timedelta(minutes=1)),
        _documented("webhooks.test_notification", "sq-test", at + timedelta(minutes=2)),
        _documented("payment.updated", "sq-customer", at + timedelta(minutes=3))
        | {"type": "customer.created"},
    )

    report = _reconciler(_api(base), store).run("square")

    assert {listed.event_id: listed.outcome for listed in report.listings} == {
        "sq-payment": Listing.RECOVERED,
        "sq-refund": Listing.RECOVERED,
        "sq-test": Listing.IGNORED,
        "sq-customer": Listing.IGNORED,
    }
    payment = store.get_event("square", "sq-payment")
    assert payment is not None
    assert (payment.event_type, payment.transaction_id) == (
        "payment.updated",
        "hYy9pRFVxpDsO1FB05SunFWUe9JZY",
    )
    assert (payment.amount, payment.currency, payment.status) == (
        Decimal("1.00"),
        "USD",
        "succeeded",
    )
    refund = store.get_event("square", "sq-refund")
    assert refund is not None
    assert (refund.event_type, refund.transaction_id, refund.movement_id) == (
        "refund.updated",
        "KkAkhdMsgzn59SM8A89WgKwekxLZY",
        "KkAkhdMsgzn59SM8A89WgKwekxLZY_ptNBVqHYxt5gAdfcobBe4u1AZsXhoz06KTtuq9Ls24P",
    )
    assert (refund.amount, refund.status, refund.arrival) == (
        Decimal("10.00"),
        "refunded",
        Arrival.RECONCILIATION,
    )
    # SearchEvents lists them with the location_id the webhook bodies do not carry.
    assert fake.searches()[0].answered["events"][0]["location_id"] == "S8GWD5R9QB376"


def test_an_event_at_exactly_the_window_end_is_left_to_the_next_window(
    fake: SquareEventsFake, base: str, store: ReconcileStore
) -> None:
    fake.enabled = True
    until = NOW - timedelta(hours=1)
    second = timedelta(seconds=1)
    fake.add(
        _sample("sq-before-end", until - second),
        _sample("sq-at-end", until),
        _sample("sq-after-end", until + second),
    )
    api = _api(base)

    # From as far back as a first scheduled run goes, so that the window moves the mark.
    first = _reconciler(api, store).run("square", since=NOW - DEFAULT_SINCE, until=until)

    assert [listed.event_id for listed in first.listings] == ["sq-before-end"]
    assert "sq-at-end" in _listed_ids(fake)  # Square's end_at may be inclusive: it was listed
    assert store.get_event("square", "sq-at-end") is None
    assert store.reconciled_until("square") == until

    following = _reconciler(api, store).run("square")  # from the mark, less the overlap

    assert following.window.since < until
    assert {listed.event_id: listed.outcome for listed in following.listings} == {
        "sq-before-end": Listing.ALREADY_STORED,
        "sq-at-end": Listing.RECOVERED,
        "sq-after-end": Listing.RECOVERED,
    }


# The fake itself: what it answers where SquareEvents never goes.


def _search(fake: SquareEventsFake, request: dict[str, Any], token: str = TOKEN) -> Any:
    status, answered = fake.answer(
        "POST", "/v2/events", {"Authorization": f"Bearer {token}"}, json.dumps(request).encode()
    )
    return status, answered


def _error(answered: dict[str, Any]) -> tuple[str, str]:
    (error,) = answered["errors"]
    return error["category"], error["code"]


@pytest.mark.parametrize(
    ("limit", "code"),
    [(0, "VALUE_TOO_LOW"), (101, "VALUE_TOO_HIGH"), ("10", "EXPECTED_INTEGER")],
)
def test_the_fake_refuses_a_limit_square_refuses(
    fake: SquareEventsFake, limit: Any, code: str
) -> None:
    status, answered = _search(fake, {"limit": limit})
    assert (status, _error(answered)) == (400, ("INVALID_REQUEST_ERROR", code))
    assert answered["errors"][0]["field"] == "limit"
    assert _search(fake, {"limit": 100})[0] == 200


def test_the_fake_refuses_a_cursor_with_another_query_and_pages_on_with_the_same(
    fake: SquareEventsFake,
) -> None:
    fake.enabled = True
    fake.page_sizes = (1,)
    fake.add(*(_sample(f"sq-{n}", NOW - timedelta(hours=n + 1)) for n in range(3)))
    query = {"sort": {"order": "ASC"}}
    _, first = _search(fake, {"query": query})
    other = {"query": {"sort": {"order": "DESC"}}, "cursor": first["cursor"]}
    status, refused = _search(fake, other)
    assert (status, _error(refused)) == (400, ("INVALID_REQUEST_ERROR", "INVALID_CURSOR"))
    assert "events" not in refused
    status, second = _search(fake, {"query": query, "cursor": first["cursor"]})
    assert status == 200
    assert [e["event_id"] for e in first["events"] + second["events"]] == ["sq-2", "sq-1"]
    assert second["metadata"] == [{"event_id": "sq-1", "api_version": "2026-08-19"}]


def test_the_fake_filters_by_type_and_sorts_either_way_newest_first_by_default(
    fake: SquareEventsFake,
) -> None:
    fake.enabled = True
    fake.add(
        _sample("sq-paid", NOW - timedelta(hours=3)),
        _sample("sq-refunded", NOW - timedelta(hours=2), status="refunded"),
        _sample("sq-paid-again", NOW - timedelta(hours=1)),
    )

    def ids(query: dict[str, Any]) -> list[str]:
        status, answered = _search(fake, {"query": query})
        assert status == 200
        return [event["event_id"] for event in answered.get("events", [])]

    assert ids({}) == ["sq-paid-again", "sq-refunded", "sq-paid"]
    assert ids({"sort": {"field": "DEFAULT", "order": "ASC"}}) == [
        "sq-paid",
        "sq-refunded",
        "sq-paid-again",
    ]
    assert ids({"filter": {"event_types": ["refund.updated"]}}) == ["sq-refunded"]
    assert ids({"filter": {"event_types": ["dispute.created"]}}) == []


def test_the_fake_lists_28_days_and_keeps_nothing_from_a_disabled_period(
    fake: SquareEventsFake, base: str
) -> None:
    api = _api(base)
    api.enable()
    fake.add(
        _sample("sq-too-old", NOW - RETENTION - timedelta(minutes=1)),
        _sample("sq-kept", NOW - RETENTION + timedelta(minutes=1)),
    )
    fake.answer("PUT", "/v2/events/disable", {"Authorization": f"Bearer {TOKEN}"}, b"")
    assert fake.add(_sample("sq-while-disabled", NOW - timedelta(hours=1))) == 0
    api.enable()

    pages = list(api.pages(NOW - timedelta(days=40), NOW))

    assert [[event["event_id"] for event in page] for page in pages] == [["sq-kept"]]


def test_the_fake_refuses_a_field_searchevents_does_not_have(fake: SquareEventsFake) -> None:
    status, answered = _search(fake, {"query": {"filter": {"created": {"start_at": "x"}}}})
    assert (status, _error(answered)) == (400, ("INVALID_REQUEST_ERROR", "UNKNOWN_BODY_PARAMETER"))
    assert answered["errors"][0]["field"] == "query.filter.created"
