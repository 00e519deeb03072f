"""A reconciliation on fakes of the events APIs: what it stores, counts and refuses."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.builders import NOW, stripe_event
from tests.support.recorded import Recorded
from webhook_processor import codec
from webhook_processor.errors import InvalidParameter, ProviderApiError, ProviderNotConfigured
from webhook_processor.limits import MAX_ENVELOPE_BYTES
from webhook_processor.model import Arrival
from webhook_processor.providers.stripe import StripeProvider
from webhook_processor.reconcile.apis import SquareEvents, StripeEvents, check_base
from webhook_processor.reconcile.run import (
    DEFAULT_SINCE,
    OVERLAP,
    ReconcileBusy,
    ReconcileFailed,
    Reconciler,
    Source,
    parse_moment,
)
from webhook_processor.reconcile.transport import MAX_PAGE_BYTES, Response, http_transport
from webhook_processor.storage.journal import Listing
from webhook_processor.storage.memory import MemoryStore


class FakeApi:
    """Stripe-shaped events in pages; fails after ``fail_after`` pages if set."""

    provider = "stripe"
    retention = timedelta(days=30)

    def __init__(self, pages: list[list[dict[str, Any]]], fail_after: int | None = None) -> None:
        self._pages = pages
        self._fail_after = fail_after
        self.windows: list[tuple[datetime, datetime]] = []

    def pages(self, since: datetime, until: datetime) -> Iterator[list[dict[str, Any]]]:
        self.windows.append((since, until))
        for number, page in enumerate(self._pages):
            if self._fail_after is not None and number >= self._fail_after:
                raise ProviderApiError("stripe", "answered 500: api_error")
            yield page

    def identify(self, event: dict[str, Any]) -> tuple[str | None, datetime | None]:
        return StripeEvents.identify(self, event)  # type: ignore[arg-type]


def _event(n: int, event_type: str = "payment_intent.succeeded") -> dict[str, Any]:
    return stripe_event(f"evt_{n}", event_type, id=f"pi_{n}")


def _reconciler(api: FakeApi, store: MemoryStore, now: datetime = NOW) -> Reconciler:
    source = Source(api, StripeProvider().normalise)
    return Reconciler({"stripe": source}, store, clock=lambda: now)


def test_listed_payment_events_are_stored_once_marked_recovered_and_the_rest_counted() -> None:
    store = MemoryStore()
    unreadable = _event(4) | {"data": {"object": {"id": "pi_4"}}}  # no currency
    api = FakeApi([[_event(1), _event(2)], [_event(3, "customer.created"), unreadable]])
    store.insert_all(StripeProvider().normalise(_event(2), NOW))  # delivered by webhook
    report = _reconciler(api, store).run("stripe")
    assert report.as_json() | {"since": None, "until": None} == {
        "provider": "stripe",
        "since": None,
        "until": None,
        "listed": 4,
        "recovered": 1,
        "already_stored": 1,
        "ignored": 1,
        "unreadable": 1,
        "dry_run": False,
    }
    recovered = store.get_event("stripe", "evt_1")
    assert recovered is not None
    assert recovered.arrival == Arrival.RECONCILIATION
    delivered = store.get_event("stripe", "evt_2")
    assert delivered is not None
    assert delivered.arrival == Arrival.WEBHOOK
    # Both are queued for publication, each once.
    assert sorted(item.event.key for item in store.due("", NOW, 10)) == [
        "stripe:evt_1",
        "stripe:evt_2",
    ]


def test_a_second_run_recovers_nothing_and_a_dry_run_stores_nothing() -> None:
    store = MemoryStore()
    api = FakeApi([[_event(1), _event(2)]])
    dry = _reconciler(api, store).run("stripe", dry_run=True)
    assert (dry.count(Listing.RECOVERED), dry.dry_run) == (2, True)
    assert store.get_event("stripe", "evt_1") is None
    assert store.reconciled_until("stripe") is None  # a dry run is no reconciliation
    assert _reconciler(api, store).run("stripe").count(Listing.RECOVERED) == 2
    again = _reconciler(api, store).run("stripe")
    assert (again.count(Listing.RECOVERED), again.count(Listing.ALREADY_STORED)) == (0, 2)


def test_a_failure_part_way_keeps_what_was_stored_and_leaves_the_mark() -> None:
    store = MemoryStore()
    api = FakeApi([[_event(1)], [_event(2)]], fail_after=1)
    with pytest.raises(ReconcileFailed) as failed:
        _reconciler(api, store).run("stripe")
    assert "1 events recovered before it are stored" in failed.value.detail
    assert failed.value.report.count(Listing.RECOVERED) == 1
    assert store.get_event("stripe", "evt_1") is not None
    assert store.reconciled_until("stripe") is None
    # The claim was released: the next run goes ahead.
    assert _reconciler(FakeApi([[_event(2)]]), store).run("stripe").count(Listing.RECOVERED) == 1


def test_a_scheduled_run_starts_at_the_mark_less_the_overlap_and_the_first_72h_ago() -> None:
    store = MemoryStore()
    api = FakeApi([[]])
    _reconciler(api, store).run("stripe")
    later = NOW + timedelta(minutes=15)
    _reconciler(api, store, later).run("stripe")
    assert api.windows == [(NOW - DEFAULT_SINCE, NOW), (NOW - OVERLAP, later)]
    assert store.reconciled_until("stripe") == later


def test_two_runs_of_one_provider_never_overlap() -> None:
    store = MemoryStore()
    assert store.claim_reconciliation("stripe", "someone-else", NOW)
    with pytest.raises(ReconcileBusy, match="another reconciliation of stripe"):
        _reconciler(FakeApi([[_event(1)]]), store).run("stripe")
    assert store.get_event("stripe", "evt_1") is None
    # A claim whose holder died expires.
    later = NOW + timedelta(hours=1)
    assert (
        _reconciler(FakeApi([[_event(1)]]), store, later).run("stripe").count(Listing.RECOVERED)
        == 1
    )


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        (NOW - timedelta(days=31), None, "lists the last 30 days"),
        (NOW, None, "is not before --until"),
        (NOW - timedelta(hours=1), NOW - timedelta(hours=2), "is not before --until"),
    ],
)
def test_a_window_the_provider_cannot_list_is_refused(
    since: datetime, until: datetime | None, message: str
) -> None:
    with pytest.raises(InvalidParameter, match=message):
        _reconciler(FakeApi([]), MemoryStore()).run("stripe", since, until)


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ("adyen", "Adyen has no API that lists past notifications"),
        ("generic", "ask the sending system to resend"),
        ("square", "no API key for square: set WEBHOOK_API_KEY_SQUARE"),
    ],
)
def test_a_provider_without_an_api_or_a_key_is_refused_with_what_to_do(
    provider: str, message: str
) -> None:
    with pytest.raises(ProviderNotConfigured, match=message):
        _reconciler(FakeApi([]), MemoryStore()).run(provider)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72h", NOW - timedelta(hours=72)),
        ("15m", NOW - timedelta(minutes=15)),
        ("7d", NOW - timedelta(days=7)),
        ("1h30m", NOW - timedelta(minutes=90)),
        ("2026-11-28T08:00:00Z", datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("2026-11-28T09:00:00+01:00", datetime(2026, 11, 28, 8, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_a_time_with_its_offset_or_a_utc_day(
    text: str, expected: datetime
) -> None:
    assert parse_moment(text, NOW, "--since") == expected


@pytest.mark.parametrize("text", ["", "yesterday", "72", "2026-11-28T08:00:00", "h", "1d1d"])
def test_a_moment_that_is_neither_is_refused(text: str) -> None:
    with pytest.raises(InvalidParameter, match="--since"):
        parse_moment(text, NOW, "--since")


@pytest.mark.parametrize(
    "base",
    [
        "http://api.stripe.com",
        "http://10.0.0.1:12111",
        "ftp://127.0.0.1",
        "api.stripe.com",
    ],
)
def test_an_api_root_that_would_send_the_key_in_clear_text_is_refused(base: str) -> None:
    with pytest.raises(ProviderNotConfigured, match="must be https"):
        check_base("stripe", base)


@pytest.mark.parametrize(
    "base",
    [
        "https://user:sk_live_secret@api.stripe.com",
        "http://sk_live_secret@127.0.0.1:8",
        "https://api.stripe.com/?key=sk_live_secret",
    ],
)
def test_an_api_root_holding_credentials_or_a_query_is_refused_without_quoting_them(
    base: str,
) -> None:
    with pytest.raises(
        ProviderNotConfigured, match=r"must not hold credentials|must be a root"
    ) as refused:
        check_base("stripe", base)
    assert "sk_live_secret" not in refused.value.detail


@pytest.mark.parametrize(
    "base",
    ["https://api.stripe.com/", "http://127.0.0.1:12111", "http://[::1]:8", "http://localhost"],
)
def test_https_or_loopback_roots_are_taken(base: str) -> None:
    assert check_base("stripe", base) == base.rstrip("/")


def _page(*ids: str, has_more: bool) -> Response:
    events = [_event(int(i.removeprefix("evt_"))) for i in ids]
    return Response(
        200, codec.dumps({"object": "list", "data": events, "has_more": has_more}).encode()
    )


def test_stripe_is_paged_by_the_last_id_of_each_page_over_the_created_window() -> None:
    transport = Recorded(_page("evt_3", "evt_2", has_more=True), _page("evt_1", has_more=False))
    api = StripeEvents("sk_test_key", "https://api.stripe.com", transport)
    since, until = NOW - timedelta(hours=1), NOW - timedelta(microseconds=500)
    pages = list(api.pages(since, until))
    assert [[e["id"] for e in page] for page in pages] == [["evt_3", "evt_2"], ["evt_1"]]
    urls = [urllib.parse.urlsplit(url) for _, url, _, _ in transport.requests]
    queries = [dict(urllib.parse.parse_qsl(url.query)) for url in urls]
    window = {
        "created[gte]": str(int(since.timestamp())),
        "created[lt]": str(int(NOW.timestamp())),  # the end's second, rounded up
        "limit": "100",
    }
    assert queries == [window, {**window, "starting_after": "evt_2"}]
    assert {url.path for url in urls} == {"/v1/events"}
    assert {h["Authorization"] for _, _, h, _ in transport.requests} == {"Bearer sk_test_key"}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            Response(
                401,
                b'{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***key"}}',
            ),
            "the stripe events API answered 401: invalid_request_error Invalid API Key",
        ),
        (Response(500, b"<html>oops</html>"), "answered 500: no error message"),
        (Response(200, b"not json"), "answered 200, not with JSON"),
        (Response(200, b'{"data": {"id": 1}}'), "whose 'data' is not a list of events"),
        (
            Response(200, b'{"data": [{"id": 5}], "has_more": true}'),
            "listed an event without an id",
        ),
    ],
)
def test_an_api_answer_that_is_not_a_page_is_the_apis_failure(
    answer: Response, message: str
) -> None:
    api = StripeEvents("sk_test_key", "https://api.stripe.com", Recorded(answer))
    with pytest.raises(ProviderApiError, match=re.escape(message)) as failed:
        list(api.pages(NOW - timedelta(hours=1), NOW))
    assert "sk_test_key" not in failed.value.detail


def test_an_api_that_cannot_be_reached_or_answers_too_much_is_the_apis_failure() -> None:
    def unreachable(method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        raise ConnectionRefusedError(111, "Connection refused")

    api = StripeEvents("sk_test_key", "https://api.stripe.com", unreachable)
    with pytest.raises(
        ProviderApiError,
        match=re.escape("could not be reached at https://api.stripe.com/v1/events"),
    ):
        list(api.pages(NOW - timedelta(hours=1), NOW))


def test_the_http_transport_reads_at_most_a_bounded_page() -> None:
    """A server that answers more than MAX_PAGE_BYTES is refused, not read into memory."""
    import http.server
    import threading

    class Huge(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(MAX_PAGE_BYTES + 10))
            self.end_headers()
            chunk = b" " * 65536
            sent = 0
            try:
                while sent <= MAX_PAGE_BYTES:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        api = StripeEvents("sk_test_key", base, http_transport(timeout=10))
        with pytest.raises(ProviderApiError, match=f"answered more than {MAX_PAGE_BYTES} bytes"):
            list(api.pages(NOW - timedelta(hours=1), NOW))
    finally:
        server.shutdown()
        server.server_close()


def test_a_manual_window_after_a_gap_leaves_the_mark_where_the_gap_begins() -> None:
    """The mark says everything before it was listed: a run over the last hour, days after the
    last scheduled one, must not make the next scheduled run skip the days between."""
    store = MemoryStore()
    api = FakeApi([[]])
    _reconciler(api, store).run("stripe")  # scheduled: the mark is NOW
    days_later = NOW + timedelta(days=2)
    _reconciler(api, store, days_later).run("stripe", days_later - timedelta(hours=1))
    assert store.reconciled_until("stripe") == NOW
    _reconciler(api, store, days_later).run("stripe")
    assert api.windows[-1] == (NOW - OVERLAP, days_later)
    assert store.reconciled_until("stripe") == days_later


def test_a_first_manual_run_moves_the_mark_only_if_it_reaches_as_far_back_as_a_scheduled_one() -> (
    None
):
    store = MemoryStore()
    _reconciler(FakeApi([[]]), store).run("stripe", NOW - timedelta(hours=1))
    assert store.reconciled_until("stripe") is None
    _reconciler(FakeApi([[]]), store).run("stripe", NOW - DEFAULT_SINCE - timedelta(hours=1))
    assert store.reconciled_until("stripe") == NOW


def test_a_run_stops_at_its_deadline_keeping_what_it_stored() -> None:
    ticks = iter(range(0, 10_000, 400))  # each page takes 400 s of the run's 600
    store = MemoryStore()
    source = Source(FakeApi([[_event(1)], [_event(2)], [_event(3)]]), StripeProvider().normalise)
    reconciler = Reconciler(
        {"stripe": source}, store, clock=lambda: NOW, monotonic=lambda: float(next(ticks))
    )
    with pytest.raises(
        ReconcileFailed, match=re.escape("was still listing when the run's time was up")
    ):
        reconciler.run("stripe")
    assert [store.get_event("stripe", f"evt_{n}") is not None for n in (1, 2, 3)] == [
        True,
        True,
        False,
    ]
    assert store.reconciled_until("stripe") is None


def test_an_event_listed_twice_or_outside_the_window_is_neither_counted_twice_nor_stored() -> None:
    store = MemoryStore()
    ancient = _event(7) | {"created": 0}
    future = _event(8) | {"created": int((NOW + timedelta(days=400)).timestamp())}
    api = FakeApi([[_event(1), _event(2)], [_event(2), ancient, future]])
    report = _reconciler(api, store).run("stripe")
    assert [(listed.event_id, listed.outcome) for listed in report.listings] == [
        ("evt_1", Listing.RECOVERED),
        ("evt_2", Listing.RECOVERED),
    ]
    assert store.get_event("stripe", "evt_7") is None
    assert store.get_event("stripe", "evt_8") is None


def test_an_id_no_event_can_have_is_reported_as_unreadable_without_quoting_it() -> None:
    hostile = _event(1) | {"id": "evt_\x1b[31m\n" + "x" * 300}
    report = _reconciler(FakeApi([[hostile]]), MemoryStore()).run("stripe")
    assert [(item.event_id, item.outcome) for item in report.listings] == [
        ("(no readable id)", Listing.UNREADABLE)
    ]


def test_a_window_at_the_edge_of_the_retention_is_taken_from_it() -> None:
    """``--since 30d`` is read a moment before the window is checked: it means 30 days."""
    api = FakeApi([[]])
    a_moment_late = NOW + timedelta(milliseconds=5)
    _reconciler(api, MemoryStore(), a_moment_late).run("stripe", NOW - timedelta(days=30))
    assert api.windows == [(a_moment_late - timedelta(days=30), a_moment_late)]


def test_stripe_listing_the_same_page_again_or_square_a_cursor_again_is_the_apis_failure() -> None:
    same = _page("evt_2", has_more=True)
    api = StripeEvents("sk_test_key", "https://api.stripe.com", Recorded(same, same))
    with pytest.raises(ProviderApiError, match="listed the same page again"):
        list(api.pages(NOW - timedelta(hours=1), NOW))
    looping = Response(200, b'{"events": [], "cursor": "c1"}')
    square = SquareEvents("EAAA-token", "https://connect.squareup.com", Recorded(looping, looping))
    with pytest.raises(ProviderApiError, match="a cursor it had answered before"):
        list(square.pages(NOW - timedelta(hours=1), NOW))


def test_an_api_error_is_shown_on_one_line_and_without_our_key_echoed_back() -> None:
    echoed = b'{"error": {"message": "bad key sk_test_key\\n\\u001b[2J2026 INFO forged line"}}'
    api = StripeEvents("sk_test_key", "https://api.stripe.com", Recorded(Response(401, echoed)))
    with pytest.raises(ProviderApiError) as failed:
        list(api.pages(NOW - timedelta(hours=1), NOW))
    assert "sk_test_key" not in failed.value.detail
    assert "<key>" in failed.value.detail
    assert failed.value.detail.isprintable()


@pytest.mark.parametrize("key", ["", "sk live", "sk_live\nX: 1", "sk_\u2019live"])
def test_a_key_that_cannot_be_sent_is_refused_without_quoting_it(key: str) -> None:
    with pytest.raises(ProviderNotConfigured, match="API key is malformed") as refused:
        StripeEvents(key, "https://api.stripe.com", Recorded())
    assert not key or key not in refused.value.detail


def test_a_transport_that_chokes_on_a_header_fails_the_run_without_quoting_it() -> None:
    def choking(method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        raise ValueError(f"Invalid header value {headers['Authorization']!r}")

    api = StripeEvents("sk_test_key", "https://api.stripe.com", choking)
    with pytest.raises(ProviderApiError, match=r"could not be sent \(ValueError\)") as failed:
        list(api.pages(NOW - timedelta(hours=1), NOW))
    assert "sk_test_key" not in failed.value.detail
    assert failed.value.__cause__ is None


@pytest.mark.parametrize("text", ["999999d", "0001-01-01T00:00:00+01:00"])
def test_a_moment_out_of_range_is_bad_input(text: str) -> None:
    with pytest.raises(InvalidParameter, match="out of range"):
        parse_moment(text, NOW, "--since")


def test_an_api_that_trickles_its_answer_is_cut_off_when_the_exchange_is_out_of_time() -> None:
    """Each byte comes well within the per-read timeout; the whole exchange does not."""
    import http.server
    import threading
    import time as clock

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    clock.sleep(0.05)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        api = StripeEvents("sk_test_key", base, http_transport(timeout=5, request_seconds=0.5))
        with pytest.raises(ProviderApiError, match=r"took more than 0\.5 s to answer"):
            list(api.pages(NOW - timedelta(hours=1), NOW))
    finally:
        server.shutdown()
        server.server_close()


def test_an_api_that_never_stops_paging_is_stopped_at_the_page_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("webhook_processor.reconcile.apis.MAX_PAGES", 2)
    stripe = StripeEvents(
        "sk_test_key",
        "https://api.stripe.com",
        Recorded(_page("evt_2", has_more=True), _page("evt_1", has_more=True)),
    )
    with pytest.raises(ProviderApiError, match="listed more than 2 pages"):
        list(stripe.pages(NOW - timedelta(hours=1), NOW))
    pages = [Response(200, codec.dumps({"cursor": f"c{n}"}).encode()) for n in range(2)]
    square = SquareEvents("EAAA-token", "https://connect.squareup.com", Recorded(*pages))
    with pytest.raises(ProviderApiError, match="listed more than 2 pages"):
        list(square.pages(NOW - timedelta(hours=1), NOW))
    bad_cursor = Response(200, b'{"cursor": 5}')
    square = SquareEvents("EAAA-token", "https://connect.squareup.com", Recorded(bad_cursor))
    with pytest.raises(ProviderApiError, match="a cursor that is not text"):
        list(square.pages(NOW - timedelta(hours=1), NOW))


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {"event_id": "e1", "created_at": "2026-11-28T11:00:00Z"},
            ("e1", NOW - timedelta(hours=1)),
        ),
        ({"event_id": "e2", "created_at": "yesterday"}, ("e2", None)),
        ({"event_id": "e3", "created_at": "2026-11-28T11:00:00"}, ("e3", None)),  # no offset
        ({"event_id": 4, "created_at": 5}, (None, None)),
    ],
)
def test_square_identifies_a_listed_event_only_by_what_it_can_read(
    event: dict[str, Any], expected: tuple[str | None, datetime | None]
) -> None:
    square = SquareEvents("EAAA-token", "https://connect.squareup.com", Recorded())
    assert square.identify(event) == expected


@pytest.mark.parametrize("created", [True, -1, "1700000000", 2**40])
def test_stripe_takes_no_creation_time_it_cannot_read(created: object) -> None:
    stripe = StripeEvents("sk_test_key", "https://api.stripe.com", Recorded())
    assert stripe.identify({"id": "evt_1", "created": created}) == ("evt_1", None)


def test_a_listed_event_too_large_to_publish_is_counted_unreadable_not_stored() -> None:
    """The size chain holds for recovered events too: one whose envelope SNS could not take is
    never stored (it would be refused on every redrive)."""
    store = MemoryStore()
    huge = stripe_event("evt_9", id="pi_9", metadata={"padding": "x" * MAX_ENVELOPE_BYTES})
    report = _reconciler(FakeApi([[_event(1), huge]]), store).run("stripe")
    assert (report.count(Listing.RECOVERED), report.count(Listing.UNREADABLE)) == (1, 1)
    assert store.get_event("stripe", "evt_9") is None
