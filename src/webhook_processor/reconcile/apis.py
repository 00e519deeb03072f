"""The providers' events APIs: what a provider lists of the events it created in a time window.

* Stripe, ``GET /v1/events`` (https://docs.stripe.com/api/events/list): the last 30 days,
  ``created[gte]`` and ``created[lt]``, at most 100 a page, ``starting_after`` the last id of the
  page before. An event keeps the ``id`` its webhook carried, and its ``data.object`` is
  rendered in the event's own API version. Only ``created``, ``limit`` and ``starting_after``
  are sent: ``localstripe`` refuses any other filter, and the event types are sorted out here
  (that is also how ``ignored`` is counted). Stripe lists newest first and localstripe oldest
  first; paging by the last id of a page serves both.
* Square, ``POST /v2/events``, SearchEvents
  (https://developer.squareup.com/reference/square/events-api/search-events): 28 days, a
  ``query.filter.created_at`` range, at most 100 a page and often fewer, a ``cursor`` sent back
  with the same query; only with a personal access token, and only events created while the
  Events API was enabled (``PUT /v2/events/enable``, off by default) are listed.

Written on the standard library's HTTP client, not the providers' SDKs: two requests, each
answered with JSON that must be read with exact decimals by :mod:`webhook_processor.codec`
(the SDKs parse it into their own objects first), and the Lambda artifact stays small. The key
goes in the ``Authorization`` header only; no message here ever includes it.
"""

from __future__ import annotations

import http.client
import ipaddress
import math
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from webhook_processor import codec
from webhook_processor.errors import ProviderApiError, ProviderNotConfigured, WebhookError
from webhook_processor.reconcile.transport import Transport
from webhook_processor.storage.records import iso

#: The API roots, each overridable with ``WEBHOOK_API_BASE_<PROVIDER>`` (a sandbox, a test
#: emulator on loopback).
DEFAULT_BASES: Final = {
    "stripe": "https://api.stripe.com",
    "square": "https://connect.squareup.com",
}
#: The Square API version asked for (the ``Square-Version`` header of Square's current SDK).
SQUARE_VERSION: Final = "2026-08-19"
#: How errors of the endpoint listings name the API.
ENDPOINTS_API: Final = "webhook endpoints API"
#: Events per page asked for: each API's maximum.
PAGE_SIZE: Final = 100
#: The most pages one run reads (100 events each): a bound on what a run can cost.
MAX_PAGES: Final = 10_000


class EventApi(Protocol):
    """One provider's events API."""

    #: The provider's name, as in ``/webhooks/{name}``.
    provider: str
    #: How far back the provider lists events.
    retention: timedelta

    def pages(self, since: datetime, until: datetime) -> Iterator[list[dict[str, Any]]]:
        """The provider's events created at or after ``since`` and before ``until``, page by
        page, each as the object its webhook would have carried. Raises ProviderApiError."""
        ...

    def identify(self, event: dict[str, Any]) -> tuple[str | None, datetime | None]:
        """A listed event's id and creation time, where it has them (for the report: the
        adapter says what is wrong with an event that lacks them)."""
        ...


class _Api:
    """What both APIs share: a key sent as a bearer token to a checked root, and answers read
    as JSON or turned into ProviderApiError with the API's own message."""

    provider: str

    def __init__(self, api_key: str, base: str, transport: Transport) -> None:
        self._key = check_key(self.provider, api_key)
        self._base = check_base(self.provider, base)
        self._send = transport

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"}

    def _error(self, document: Any) -> str | None:
        raise NotImplementedError

    def _call(
        self, method: str, path: str, body: bytes | None = None, *, api: str = "events API"
    ) -> dict[str, Any]:
        """The JSON object of a 2xx answer; ProviderApiError (naming ``api``) for any other
        answer or none."""
        url = self._base + path
        try:
            reply = self._send(method, url, self._headers(), body)
        except (OSError, http.client.HTTPException) as exc:
            reason = _printable(str(exc)).replace(self._key, "<key>")
            raise ProviderApiError(
                self.provider, f"could not be reached at {_shown(url)}: {reason}", api=api
            ) from None
        except (ValueError, UnicodeError) as exc:  # http.client quotes the offending header
            raise ProviderApiError(
                self.provider, f"request could not be sent ({type(exc).__name__})", api=api
            ) from None
        try:
            document = codec.loads(reply.body) if reply.body else {}
        except (WebhookError, ValueError, RecursionError):
            document = None
        if 200 <= reply.status < 300:
            if not isinstance(document, dict):
                raise ProviderApiError(
                    self.provider, f"answered {reply.status}, not with JSON", api=api
                )
            return document
        # Its own words, as text that cannot forge a log line, and never our key echoed back.
        message = _printable(self._error(document) or "no error message").replace(
            self._key, "<key>"
        )
        raise ProviderApiError(
            self.provider, f"answered {reply.status}: {message}", status=reply.status, api=api
        )


def check_key(provider: str, key: str) -> str:
    """``key`` if it can be sent as a bearer token (printable ASCII, no spaces); the message
    of a key that cannot never quotes it."""
    if not key or not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise ProviderNotConfigured(
            f"the {provider} API key is malformed (empty, or with spaces, line breaks or "
            "characters that are not ASCII); it is not shown: set it again"
        )
    return key


def _printable(text: str, limit: int = 200) -> str:
    """``text`` on one line of printable characters, at most ``limit`` of them."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def check_base(provider: str, base: str) -> str:
    """``base`` without a trailing slash, if it is ``https``, or ``http`` to a loopback address
    (a test emulator): a key is never sent in clear text over a network."""
    parsed = urllib.parse.urlsplit(base)
    if parsed.username is not None or parsed.password is not None:
        raise ProviderNotConfigured(
            f"the {provider} API root {_shown(base)!r} must not hold credentials: the key goes "
            f"in WEBHOOK_API_KEY_{provider.upper()}"
        )
    if parsed.query or parsed.fragment:
        raise ProviderNotConfigured(f"the {provider} API root {_shown(base)!r} must be a root URL")
    if parsed.scheme == "https" and parsed.hostname:
        return base.rstrip("/")
    if parsed.scheme == "http" and parsed.hostname and _is_loopback(parsed.hostname):
        return base.rstrip("/")
    raise ProviderNotConfigured(
        f"the {provider} API root {_shown(base)!r} is refused: it must be https "
        "(or http to a loopback address), so the API key is never sent in clear text"
    )


def _shown(url: str) -> str:
    """``url`` as an error may quote it: without any credentials in it, bounded."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    port = f":{parsed.port}" if _port(parsed) else ""
    return f"{parsed.scheme}://{host}{port}{parsed.path}"[:100]


def _port(parsed: urllib.parse.SplitResult) -> int | None:
    try:
        return parsed.port
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StripeEvents(_Api):
    """Stripe's ``GET /v1/events``."""

    provider = "stripe"
    retention = timedelta(days=30)

    def pages(self, since: datetime, until: datetime) -> Iterator[list[dict[str, Any]]]:
        params = {
            "created[gte]": str(math.floor(since.timestamp())),
            "created[lt]": str(math.ceil(until.timestamp())),
            "limit": str(PAGE_SIZE),
        }
        for _ in range(MAX_PAGES):
            page = self._call("GET", f"/v1/events?{urllib.parse.urlencode(params)}")
            events = _list_of(self.provider, page, "data")
            if events:
                yield events
            if page.get("has_more") is not True or not events:
                return
            last = events[-1].get("id")
            if not isinstance(last, str):
                raise ProviderApiError(self.provider, "listed an event without an id")
            if last == params.get("starting_after"):
                raise ProviderApiError(self.provider, "listed the same page again")
            params["starting_after"] = last
        raise ProviderApiError(self.provider, f"listed more than {MAX_PAGES} pages")

    def _error(self, document: Any) -> str | None:
        return _stripe_error(document)

    def endpoints(self) -> list[Endpoint]:
        """``GET /v1/webhook_endpoints`` (https://docs.stripe.com/api/webhook_endpoints/list):
        every endpoint of the account, paged like the events; ``status`` is ``enabled`` or
        ``disabled``."""
        params = {"limit": str(PAGE_SIZE)}
        found: list[Endpoint] = []
        for _ in range(MAX_PAGES):
            page = self._call(
                "GET", f"/v1/webhook_endpoints?{urllib.parse.urlencode(params)}", api=ENDPOINTS_API
            )
            listed = _list_of(self.provider, page, "data")
            found += [_endpoint(self.provider, e, e.get("status") == "enabled") for e in listed]
            if page.get("has_more") is not True or not listed:
                return found
            if found[-1].id == params.get("starting_after"):
                raise ProviderApiError(self.provider, "listed the same page again")
            params["starting_after"] = found[-1].id
        raise ProviderApiError(self.provider, f"listed more than {MAX_PAGES} pages")

    def identify(self, event: dict[str, Any]) -> tuple[str | None, datetime | None]:
        event_id, created = event.get("id"), event.get("created")
        when = None
        if isinstance(created, int) and not isinstance(created, bool) and 0 <= created < 2**37:
            when = datetime.fromtimestamp(created, UTC)
        return (event_id if isinstance(event_id, str) else None), when


class SquareEvents(_Api):
    """Square's SearchEvents, ``POST /v2/events``."""

    provider = "square"
    retention = timedelta(days=28)

    def _headers(self) -> dict[str, str]:
        return {
            **super()._headers(),
            "Square-Version": SQUARE_VERSION,
            "Content-Type": "application/json",
        }

    def _error(self, document: Any) -> str | None:
        return _square_error(document)

    def pages(self, since: datetime, until: datetime) -> Iterator[list[dict[str, Any]]]:
        query = {
            "filter": {"created_at": {"start_at": _rfc3339(since), "end_at": _rfc3339(until)}},
            "sort": {"field": "DEFAULT", "order": "ASC"},
        }
        cursor: str | None = None
        cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            request: dict[str, Any] = {"limit": PAGE_SIZE, "query": query}
            if cursor:
                request["cursor"] = cursor
            body = codec.dumps(request).encode()
            page = self._call("POST", "/v2/events", body)
            events = _list_of(self.provider, page, "events")
            # The range's end is not documented as exclusive: an event at ``until`` exactly is
            # the next window's.
            events = [event for event in events if not _at_or_after(event, until)]
            if events:
                yield events
            cursor = page.get("cursor")
            if not cursor:
                return
            if not isinstance(cursor, str):
                raise ProviderApiError(self.provider, "answered a cursor that is not text")
            if cursor in cursors:
                raise ProviderApiError(self.provider, "answered a cursor it had answered before")
            cursors.add(cursor)
        raise ProviderApiError(self.provider, f"listed more than {MAX_PAGES} pages")

    def identify(self, event: dict[str, Any]) -> tuple[str | None, datetime | None]:
        event_id = event.get("event_id")
        return (event_id if isinstance(event_id, str) else None), _created_at(event)

    def endpoints(self) -> list[Endpoint]:
        """ListWebhookSubscriptions, ``GET /v2/webhooks/subscriptions``
        (https://developer.squareup.com/reference/square/webhooksubscriptions-api/list-webhook-subscriptions):
        the application's subscriptions, disabled ones included, a ``cursor`` to the next page;
        each has ``enabled`` and ``notification_url``."""
        params = {"include_disabled": "true", "limit": str(PAGE_SIZE)}
        found: list[Endpoint] = []
        cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            path = f"/v2/webhooks/subscriptions?{urllib.parse.urlencode(params)}"
            page = self._call("GET", path, api=ENDPOINTS_API)
            listed = _list_of(self.provider, page, "subscriptions")
            found += [
                _endpoint(
                    self.provider, {**e, "url": e.get("notification_url")}, e.get("enabled") is True
                )
                for e in listed
            ]
            cursor = page.get("cursor")
            if not cursor:
                return found
            if not isinstance(cursor, str) or cursor in cursors:
                raise ProviderApiError(self.provider, "answered a cursor that cannot be followed")
            cursors.add(cursor)
            params["cursor"] = cursor
        raise ProviderApiError(self.provider, f"listed more than {MAX_PAGES} pages")

    def enable(self) -> None:
        """EnableEvents, ``PUT /v2/events/enable``: Square keeps events from now on."""
        self._call("PUT", "/v2/events/enable", b"{}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A webhook endpoint (Stripe) or subscription (Square) as the provider lists it."""

    id: str
    url: str
    enabled: bool


def _endpoint(provider: str, listed: dict[str, Any], enabled: bool) -> Endpoint:
    endpoint_id, url = listed.get("id"), listed.get("url")
    if not isinstance(endpoint_id, str) or not isinstance(url, str):
        raise ProviderApiError(provider, "listed an endpoint without an id or a URL")
    return Endpoint(_printable(endpoint_id, 100), _printable(url, 300), enabled)


def _rfc3339(moment: datetime) -> str:
    return iso(moment).replace("+00:00", "Z")


def _created_at(event: dict[str, Any]) -> datetime | None:
    created = event.get("created_at")
    if not isinstance(created, str):
        return None  # the adapter refuses it, with its reason
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _at_or_after(event: dict[str, Any], until: datetime) -> bool:
    created = _created_at(event)
    return created is not None and created >= until


def _list_of(provider: str, page: dict[str, Any], field: str) -> list[dict[str, Any]]:
    listed = page.get(field, [])
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        raise ProviderApiError(provider, f"answered a page whose {field!r} is not a list of events")
    return listed


def _stripe_error(document: Any) -> str | None:
    """Stripe's ``{"error": {"type", "code", "message"}}``."""
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None
    parts = [str(error[name]) for name in ("type", "code", "message") if error.get(name)]
    return " ".join(parts) or None


def _square_error(document: Any) -> str | None:
    """Square's ``{"errors": [{"category", "code", "detail"}]}``."""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return None
    parts = [
        " ".join(str(e[name]) for name in ("category", "code", "detail") if e.get(name))
        for e in errors[:3]
        if isinstance(e, dict)
    ]
    return "; ".join(part for part in parts if part) or None
