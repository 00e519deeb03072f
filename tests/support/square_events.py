"""A fake of Square's Events API, written from Square's reference, served on loopback.

What it models, and where Square says so:

* SearchEvents, ``POST /v2/events``, with ``cursor``, ``limit`` and ``query`` (``filter``:
  ``event_types``, ``merchant_ids``, ``location_ids``, ``created_at`` ``start_at``/``end_at``;
  ``sort``: ``field`` ``DEFAULT``, ``order`` ``ASC``/``DESC``), answered with ``events``,
  ``metadata`` (``event_id``, ``api_version``) and ``cursor``:
  https://developer.squareup.com/reference/square/events-api/SearchEvents and Square's SDK
  models (square/square-python-sdk ``legacy/doc/models/search-events-*.md``, ``event.md``,
  ``event-metadata.md``, ``sort-order.md``, ``time-range.md``).
* ``limit``: 1 to 100, 100 by default, and "the response might contain fewer events" (the
  same reference): a page may hold fewer events than asked while more remain
  (``page_sizes``). Out of range: 400 ``VALUE_TOO_LOW`` / ``VALUE_TOO_HIGH``, the codes Square
  documents for a limit out of range elsewhere (ListCustomers' ``limit`` in Square's SDK docs,
  square/square-php-sdk ``doc/apis/customers.md``; the codes in
  https://developer.squareup.com/reference/square/enums/ErrorCode).
* ``cursor``: "you must use the original query" to page on (the SearchEvents reference; also
  https://developer.squareup.com/docs/build-basics/common-api-patterns/pagination); the last
  page has no cursor. A cursor with another query, or one never issued: 400 ``INVALID_CURSOR``.
* Retention: "You can only retrieve events that occurred within the past 28 days"
  (https://developer.squareup.com/docs/events-api/overview).
* EnableEvents, ``PUT /v2/events/enable``, and DisableEvents, ``PUT /v2/events/disable``, each
  answered ``{}``: "All events are disabled by default ... Only events that occur while in the
  enabled state are searchable ... Disabling events for a specific time period prevents them
  from being searchable, even if you re-enable them later" (Square's SDK,
  ``legacy/doc/api/events.md``;
  https://developer.squareup.com/reference/square/events-api/DisableEvents,
  https://developer.squareup.com/explorer/square/events-api/EnableEvents).
* A missing or wrong bearer token: 401 ``AUTHENTICATION_ERROR`` ``UNAUTHORIZED``, in Square's
  error shape, ``{"errors": [{"category", "code", "detail", "field"?}]}``
  (https://developer.squareup.com/docs/build-basics/general-considerations/handling-errors,
  https://developer.squareup.com/reference/square/enums/ErrorCategory).
* A listed event is the webhook's body plus ``location_id``, which SearchEvents' ``Event`` has
  (square/square-python-sdk ``legacy/doc/models/event.md``) and the payment and refund webhook
  payloads do not list (https://developer.squareup.com/reference/square/webhooks/payment.created).

What Square does not document, and is guessed here:

* What SearchEvents answers before EnableEvents was ever called: an empty result, as the
  docs' "only events that occur while in the enabled state are searchable" suggests.
* An empty result is ``{}`` (no ``events``): Square leaves out empty fields in other answers.
* ``start_at`` and ``end_at`` are both inclusive (the reference does not say; inclusive is the
  case a client must handle, by leaving an event at its window's end to the next window).
* The default ``sort.order`` (DESC here), and the error codes of a cursor used with another
  query (``INVALID_CURSOR``), of a field SearchEvents does not have (``UNKNOWN_BODY_PARAMETER``,
  refused here so that a misspelt field fails a test instead of widening the search) and of a
  limit that is not an integer (``EXPECTED_INTEGER``).
* The unofficial "maximum 28 days" for a ``created_at`` range is not enforced.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

#: How long Square keeps an event searchable.
RETENTION: Final = timedelta(days=28)
#: SearchEvents' largest and default ``limit``.
MAX_LIMIT: Final = 100
#: The ``api_version`` the fake's events carry in ``metadata``: the application's default
#: version when the event was created.
API_VERSION: Final = "2026-08-19"
UNAUTHORIZED_DETAIL: Final = "This request could not be authorized."

_REQUEST_FIELDS: Final = {"cursor", "limit", "query"}
_QUERY_FIELDS: Final = {"filter", "sort"}
_FILTER_FIELDS: Final = {"event_types", "merchant_ids", "location_ids", "created_at"}
_RANGE_FIELDS: Final = {"start_at", "end_at"}
_SORT_FIELDS: Final = {"field", "order"}


@dataclass(frozen=True)
class Received:
    """One request the fake answered (whatever its answer)."""

    method: str
    path: str
    #: Header names in lower case.
    headers: dict[str, str]
    #: The JSON body, or None if there was none or it did not parse.
    body: Any
    status: int
    #: The JSON document answered.
    answered: dict[str, Any]


class Refused(Exception):
    """A request Square answers with an error: its status and ``errors`` item."""

    def __init__(self, status: int, category: str, code: str, detail: str, where: str = ""):
        super().__init__(detail)
        self.status = status
        self.error = {"category": category, "code": code, "detail": detail}
        if where:
            self.error["field"] = where


def _invalid(code: str, detail: str, where: str = "") -> Refused:
    return Refused(400, "INVALID_REQUEST_ERROR", code, detail, where)


@dataclass(frozen=True)
class _Cursor:
    query: str  # the query it was issued for, as canonical JSON
    offset: int
    page: int


@dataclass
class SquareEventsFake:
    """Square's Events API for one application and its personal access token."""

    token: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: The most events each page holds, page by page of one search (cycled), never more than
    #: the request's limit; empty: as many as the limit.
    page_sizes: Sequence[int] = ()
    #: Square's EnableEvents/DisableEvents state: off, as on a new application.
    enabled: bool = False
    requests: list[Received] = field(default_factory=list)
    #: The application's webhook subscriptions (ListWebhookSubscriptions), each with ``id``,
    #: ``notification_url`` and ``enabled``; listed ``subscriptions_per_page`` at a time.
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    subscriptions_per_page: int = 100
    _events: list[dict[str, Any]] = field(default_factory=list)
    _cursors: dict[str, _Cursor] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *documents: dict[str, Any] | bytes) -> int:
        """Events Square created now, each the body its webhook carries (a dict, or its JSON
        bytes as ``SquareProvider.sample`` builds them); kept only while events are enabled.
        Returns how many were kept."""
        if not self.enabled:
            return 0
        with self._lock:
            for document in documents:
                event = json.loads(document) if isinstance(document, bytes) else document
                _moment(event["created_at"], "created_at")  # a test's typo fails here
                self._events.append(json.loads(json.dumps(event)))  # a copy of its own
        return len(documents)

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """The status and JSON document Square would answer to this request (recorded)."""
        headers = {name.lower(): value for name, value in headers.items()}
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = None
        status, answered = self._answer(method, path, headers, body, document)
        with self._lock:
            self.requests.append(Received(method, path, headers, document, status, answered))
        return status, answered

    def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes, document: Any
    ) -> tuple[int, dict[str, Any]]:
        try:
            if headers.get("authorization") != f"Bearer {self.token}":
                raise Refused(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", UNAUTHORIZED_DETAIL)
            if (method, path) == ("POST", "/v2/events"):
                if body and not isinstance(document, dict):
                    raise _invalid("EXPECTED_JSON_BODY", "The request body is not a JSON object.")
                return 200, self._search(document or {})
            parsed = urllib.parse.urlsplit(path)
            if (method, parsed.path) == ("GET", "/v2/webhooks/subscriptions"):
                return 200, self._subscriptions(dict(urllib.parse.parse_qsl(parsed.query)))
            if (method, path) in {("PUT", "/v2/events/enable"), ("PUT", "/v2/events/disable")}:
                with self._lock:
                    self.enabled = path.endswith("/enable")
                return 200, {}
            raise Refused(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"No {method} {path}.")
        except Refused as refused:
            return refused.status, {"errors": [refused.error]}

    def _subscriptions(self, query: dict[str, str]) -> dict[str, Any]:
        """ListWebhookSubscriptions: enabled ones only unless ``include_disabled=true``; the
        cursor is the offset of the next page, opaque to the caller."""
        listed = [
            s
            for s in self.subscriptions
            if s.get("enabled") or query.get("include_disabled") == "true"
        ]
        size = min(_limit(int(query.get("limit", MAX_LIMIT))), self.subscriptions_per_page)
        offset = int(base64.urlsafe_b64decode(query["cursor"])) if "cursor" in query else 0
        answer: dict[str, Any] = {"subscriptions": listed[offset : offset + size]}
        if offset + size < len(listed):
            answer["cursor"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return answer

    def searches(self) -> list[Received]:
        """The SearchEvents requests received, in order."""
        with self._lock:
            return [r for r in self.requests if (r.method, r.path) == ("POST", "/v2/events")]

    def _search(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request, _REQUEST_FIELDS, "")
        limit = _limit(request.get("limit", MAX_LIMIT))
        query = request.get("query") or {}
        matches, key = self._matching(query)
        with self._lock:
            start = self._cursors.get(request["cursor"]) if "cursor" in request else None
        if "cursor" in request and (start is None or start.query != key):
            raise _invalid(
                "INVALID_CURSOR",
                "The cursor is not one this endpoint issued for this query.",
                "cursor",
            )
        offset, page = (start.offset, start.page) if start else (0, 0)
        size = limit
        if self.page_sizes:
            size = min(limit, self.page_sizes[page % len(self.page_sizes)])
        listed = matches[offset : offset + size]
        answer: dict[str, Any] = {}
        if listed:
            answer["events"] = [_as_listed(event) for event in listed]
            answer["metadata"] = [
                {"event_id": event["event_id"], "api_version": API_VERSION} for event in listed
            ]
        if offset + size < len(matches):
            cursor = secrets.token_urlsafe(12)
            with self._lock:
                self._cursors[cursor] = _Cursor(key, offset + size, page + 1)
            answer["cursor"] = cursor
        return answer

    def _matching(self, query: Any) -> tuple[list[dict[str, Any]], str]:
        """The events ``query`` finds, in its order, and the query as canonical JSON."""
        if not isinstance(query, dict):
            raise _invalid("EXPECTED_OBJECT", "Expected an object.", "query")
        _only(query, _QUERY_FIELDS, "query")
        wanted = query.get("filter") or {}
        _only(wanted, _FILTER_FIELDS, "query.filter")
        sort = query.get("sort") or {}
        _only(sort, _SORT_FIELDS, "query.sort")
        if sort.get("field", "DEFAULT") != "DEFAULT":
            raise _invalid("INVALID_ENUM_VALUE", "Expected DEFAULT.", "query.sort.field")
        order = sort.get("order", "DESC")
        if order not in {"ASC", "DESC"}:
            raise _invalid(
                "INVALID_SORT_ORDER", "Sort order must be ASC or DESC.", "query.sort.order"
            )
        span = wanted.get("created_at") or {}
        _only(span, _RANGE_FIELDS, "query.filter.created_at")
        start = _moment(span["start_at"], "start_at") if "start_at" in span else None
        end = _moment(span["end_at"], "end_at") if "end_at" in span else None
        if start and end and end < start:
            raise _invalid(
                "INVALID_TIME_RANGE", "end_at is before start_at.", "query.filter.created_at"
            )
        oldest = self.clock() - RETENTION
        with self._lock:
            kept = list(self._events)
        found = [
            event
            for event in kept
            if oldest <= (created := _moment(event["created_at"], "created_at"))
            and (start is None or start <= created)
            and (end is None or created <= end)
            and _among(event.get("type"), wanted, "event_types")
            and _among(event.get("merchant_id"), wanted, "merchant_ids")
            and _among(_location(event), wanted, "location_ids")
        ]
        found.sort(key=lambda event: _moment(event["created_at"], "created_at"))
        if order == "DESC":
            found.reverse()
        return found, json.dumps(query, sort_keys=True)


def _only(document: Any, names: set[str], where: str) -> None:
    if not isinstance(document, dict):
        raise _invalid("EXPECTED_OBJECT", "Expected an object.", where)
    for name in document.keys() - names:
        path = f"{where}.{name}" if where else name
        raise _invalid("UNKNOWN_BODY_PARAMETER", f"Unrecognized field {path!r}.", path)


def _limit(limit: Any) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise _invalid("EXPECTED_INTEGER", "Expected an integer value.", "limit")
    if limit < 1:
        raise _invalid("VALUE_TOO_LOW", "Expected limit to be at least 1.", "limit")
    if limit > MAX_LIMIT:
        raise _invalid("VALUE_TOO_HIGH", f"Expected limit to be at most {MAX_LIMIT}.", "limit")
    return limit


def _moment(text: Any, name: str) -> datetime:
    """An RFC 3339 time (Square writes up to nanoseconds; Python keeps microseconds)."""
    try:
        moment = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _invalid("INVALID_TIME", f"{name} is not an RFC 3339 time.", name)
    return moment.astimezone(UTC)


def _among(value: Any, wanted: dict[str, Any], name: str) -> bool:
    listed = wanted.get(name)
    if listed is None:
        return True
    if not isinstance(listed, list):
        raise _invalid("EXPECTED_ARRAY", "Expected an array.", f"query.filter.{name}")
    return value in listed


def _location(event: dict[str, Any]) -> str | None:
    """The location of the object the event is about, where it has one."""
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    obj = data.get("object")
    inner = obj.get(data["type"]) if isinstance(obj, dict) else None
    location = inner.get("location_id") if isinstance(inner, dict) else None
    return location if isinstance(location, str) else None


def _as_listed(event: dict[str, Any]) -> dict[str, Any]:
    location = _location(event)
    return {**event, "location_id": location} if location and "location_id" not in event else event


def _handler(fake: SquareEventsFake) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, document = fake.answer(self.command, self.path, dict(self.headers), body)
            content = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test asserts on ``fake.requests``."""

    return Handler


@contextlib.contextmanager
def serving(fake: SquareEventsFake) -> Iterator[str]:
    """``fake`` on a loopback port, in a thread; yields its base URL (``http://127.0.0.1:N``)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    # A short poll interval: shutdown() waits for one, and each test serves its own fake.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
