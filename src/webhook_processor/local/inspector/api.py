"""The inspector's JSON API under ``/inspector/api/``: what the page reads, and its two actions.

Reads (GET): ``summary`` (counters, recent rejections, sinks, the choices of every filter),
``transactions``, ``timeline``, ``events``, ``dead-letters``. Each listing is a page of at most
:data:`~.params.MAX_PAGE` rows read through an index (``storage.paging``), with the cursor of
the next. Actions (POST, JSON): ``redrive`` (``{"keys": [...]}`` or ``{"all": true}``) and
``send`` (a test event, signed as ``webhook-processor send`` signs it and run through the same
pipeline as a delivery to ``/webhooks/{provider}``).

Rows are the CLI's (``webhook_processor.rows``), so the page and ``webhook-processor events`` agree;
amounts are sent as their exact decimal text, which JavaScript numbers could not keep. Store
reads and redrives run on one worker thread of the inspector's own, never on the event loop
the webhook route shares: however many tabs or scripts ask, the inspector takes one thread.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

from webhook_processor.errors import InvalidParameter, NotFound, WebhookError
from webhook_processor.limits import MAX_ID_LENGTH
from webhook_processor.local.bootstrap import LocalProcessor
from webhook_processor.local.inspector import params
from webhook_processor.local.reconciling import listable
from webhook_processor.local.volume import CHARTS, charts, history_start, status_document
from webhook_processor.model import PaymentStatus, TransactionStatus, WebhookRequest
from webhook_processor.money import format_amount
from webhook_processor.reconcile.completeness import completeness
from webhook_processor.responses import status_for
from webhook_processor.rows import (
    dead_letter_row,
    event_row,
    movement_row,
    timeline_rows,
    transaction_row,
)
from webhook_processor.sending import SampleChoice, signed_delivery
from webhook_processor.storage.base import Delivery
from webhook_processor.storage.paging import EventFilter, SinkDelivery, TransactionFilter

#: Events shown of one transaction's timeline; a longer one says it was cut.
TIMELINE_LIMIT: Final = 500
MAX_REDRIVE_KEYS: Final = 100
#: Keys a redrive's answer lists; it counts them all.
SHOWN_REDRIVE_KEYS: Final = 20
#: A URL: scheme, user info (to the last "@"), host, first path segment, the rest, query.
_URL: Final = re.compile(r"(https?://)([^\s/?#]*@)?([^\s/?#]*)(/[^\s/?#]*)?(/[^\s?#]*)?([?#]\S*)?")

Json = dict[str, Any]


def redact(text: str) -> str:
    """``text`` with what may be a credential in a URL masked: its user info, its path after the
    first segment (``hooks.slack.com/services/***``), its query. Subscriber URLs appear in sink
    names and delivery errors."""
    return _URL.sub(
        lambda m: (
            m[1]
            + ("***@" if m[2] else "")
            + m[3]
            + (m[4] or "")
            + ("/***" if m[5] else "")
            + ("?***" if m[6] else "")
        ),
        text,
    )


def plain(value: Any) -> Any:
    """``value`` with every Decimal as its exact text, for JSON that JavaScript reads."""
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class Api:
    """The endpoints, over one local processor."""

    def __init__(self, processor: LocalProcessor) -> None:
        self._processor = processor
        self._store = processor.store
        self._providers = tuple(processor.providers)
        self._sinks = tuple(sink.name for sink in processor.dispatcher.sinks)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inspector")
        provider = params.choice(self._providers)
        self.reads: Mapping[str, tuple[Mapping[str, params.Reader], Callable[[Json], Json]]] = {
            "summary": ({}, self._summary),
            "transactions": (
                {
                    "provider": provider,
                    "status": params.choice(set(TransactionStatus)),
                    "q": params.text(params.MAX_KEY_CHARS),
                    "cursor": params.cursor,
                    "limit": params.page_size,
                },
                self._transactions,
            ),
            "timeline": (
                {"provider": provider, "transaction_id": params.text(params.MAX_KEY_CHARS)},
                self._timeline,
            ),
            "events": (
                {
                    "provider": provider,
                    "delivery": params.choice(set(Delivery)),
                    "q": params.text(params.MAX_KEY_CHARS),
                    "cursor": params.cursor,
                    "limit": params.page_size,
                },
                self._events,
            ),
            "dead-letters": (
                {"cursor": params.cursor, "limit": params.page_size},
                self._dead_letters,
            ),
            "completeness": ({"days": params.day_count}, self._completeness),
            "status": ({}, self._status),
            "volume": ({"span": params.choice(tuple(CHARTS))}, self._volume),
        }
        self.actions: Mapping[str, Callable[[Json], Awaitable[tuple[int, Json]]]] = {
            "redrive": self._redrive,
            "send": self._send,
        }

    async def read(self, name: str, raw_query: bytes) -> Json:
        """The answer of GET ``name``; raises a WebhookError for a bad request."""
        readers, handler = self.reads[name]
        given = params.query(raw_query, readers)
        loop = asyncio.get_running_loop()
        answer: Json = plain(await loop.run_in_executor(self._worker, handler, given))
        return answer

    # -- reads (on a worker thread) ---------------------------------------------------------

    def _summary(self, _: Json) -> Json:
        counters = self._processor.counters.snapshot()
        for name in ("published_by_sink", "dead_by_sink"):
            counters[name] = {redact(sink): count for sink, count in counters[name].items()}
        return {
            "counters": counters,
            "rejections": [
                {
                    "at": r.at.isoformat(),
                    "provider": r.provider,
                    "reason": r.reason,
                    "status": r.status,
                }
                for r in self._processor.counters.rejections()
            ],
            "sinks": [redact(sink) for sink in self._sinks],
            "providers": list(self._providers),
            "transaction_statuses": list(TransactionStatus),
            "payment_statuses": list(PaymentStatus),
            "deliveries": list(Delivery),
        }

    def _transactions(self, given: Json) -> Json:
        where = TransactionFilter(given.get("provider"), given.get("status"), given.get("q"))
        page = self._store.transaction_page(
            where, given.get("cursor"), given.get("limit", params.DEFAULT_PAGE)
        )
        return {"items": [transaction_row(t) for t in page.items], "next": page.next}

    def _timeline(self, given: Json) -> Json:
        for required in ("provider", "transaction_id"):
            if required not in given:
                raise InvalidParameter(f"{required} is required")
        provider, transaction_id = given["provider"], given["transaction_id"]
        state = self._store.transaction(provider, transaction_id)
        if state is None:
            raise NotFound(f"no {provider} transaction {transaction_id[:100]!r}")
        events = self._store.timeline(provider, transaction_id, TIMELINE_LIMIT)
        movements = self._store.movements(provider, transaction_id, TIMELINE_LIMIT)
        return {
            "transaction": transaction_row(state),
            "movements": [movement_row(m) for m in movements],
            "timeline": timeline_rows(events),
            "truncated": len(events) == TIMELINE_LIMIT or len(movements) == TIMELINE_LIMIT,
        }

    def _events(self, given: Json) -> Json:
        search = given.get("q")
        keys = () if search is None else (search, *(f"{p}:{search}" for p in self._providers))
        where = EventFilter(given.get("provider"), given.get("delivery"), keys, search)
        page = self._store.event_page(
            where, given.get("cursor"), given.get("limit", params.DEFAULT_PAGE)
        )
        deliveries = self._store.deliveries([event.key for event in page.items])
        items = []
        for event in page.items:
            sinks = self._per_sink(deliveries[event.key])
            worst = max(sinks, key=_severity, default=_DELIVERED)
            row = event_row(event, worst["state"], worst["attempts"], worst["last_error"])
            items.append(
                {**row, "provider": event.provider, "event_id": event.event_id, "sinks": sinks}
            )
        return {"items": items, "next": page.next}

    def _per_sink(self, undelivered: list[SinkDelivery]) -> list[Json]:
        """Every sink's state for one event: the configured sinks first (delivered unless the
        store says otherwise), then any other sink the store still has entries for."""
        by_sink = {d.sink: d for d in undelivered}
        names = [*self._sinks, *sorted(set(by_sink) - set(self._sinks))]
        rows = []
        for name in names:
            found = by_sink.get(name)
            rows.append(
                {
                    "sink": redact(name),
                    "state": "delivered" if found is None else found.state,
                    "attempts": 0 if found is None else found.attempts,
                    "last_error": None
                    if found is None or found.last_error is None
                    else redact(found.last_error),
                }
            )
        return rows

    def _status(self, given: Json) -> Json:
        """``webhook-processor status``: each provider's verdict and its endpoint's."""
        now = self._processor.clock()
        watch = self._processor.watch
        lanes = [replace(lane, sink=redact(lane.sink)) for lane in self._processor.lanes()]
        histories = watch.counter.histories(history_start(now))
        return status_document(histories, watch.endpoints, now, lanes=lanes)

    def _volume(self, given: Json) -> Json:
        """The chart: per provider, deliveries over the last day or week against the usual."""
        now = self._processor.clock()
        span = given.get("span", "day")
        histories = self._processor.watch.counter.histories(history_start(now))
        return {"span": span, "providers": charts(histories, now, span)}

    def _completeness(self, given: Json) -> Json:
        """``webhook-processor completeness``: per provider and day, what came by webhook, what
        reconciliation recovered, and what the providers listed."""
        now = self._processor.clock()
        since = now - timedelta(days=given.get("days", params.DEFAULT_DAYS) - 1)
        with_api = listable(self._processor.secrets, self._processor.environ)
        rows = completeness(self._store, since, now, listable=with_api, providers=self._providers)
        return {"items": [row.as_json() for row in rows], "listable": with_api}

    def _dead_letters(self, given: Json) -> Json:
        page = self._store.dead_letter_page(
            given.get("cursor"), given.get("limit", params.DEFAULT_PAGE)
        )
        items = [
            {
                **dead_letter_row(letter),
                "last_error": redact(letter.last_error),
                "sink": redact(letter.sink),
                "provider": letter.event.provider,
                "transient": letter.transient,
            }
            for letter in page.items
        ]
        return {"items": items, "next": page.next}

    # -- actions ------------------------------------------------------------------------------

    async def _redrive(self, body: Json) -> tuple[int, Json]:
        params.fields(body, ("keys", "all"))
        everything = body.get("all", False)
        keys = body.get("keys")
        if everything is not True and everything is not False:
            raise InvalidParameter("all must be true or false")
        if everything == (keys is not None):
            raise InvalidParameter('give either "keys": [...] or "all": true')
        if keys is not None:
            if not isinstance(keys, list) or not keys:
                raise InvalidParameter("keys must be a non-empty list of dead letter keys")
            if len(keys) > MAX_REDRIVE_KEYS:
                raise InvalidParameter(f"keys lists {len(keys)}; the limit is {MAX_REDRIVE_KEYS}")
            read = params.text(params.MAX_KEY_CHARS)
            keys = [read("key", key) if isinstance(key, str) else _not_text(key) for key in keys]
        processor = self._processor
        now = processor.pipeline.clock()
        loop = asyncio.get_running_loop()
        queued = await loop.run_in_executor(self._worker, processor.store.redrive, keys, now)
        if queued:
            processor.dispatcher.wake()
            processor.counters.changed()
        unknown = [] if keys is None else sorted(set(keys) - set(queued))
        shown = queued[:SHOWN_REDRIVE_KEYS]
        return 200, {"queued": len(queued), "keys": shown, "not_dead_letters": unknown}

    async def _send(self, body: Json) -> tuple[int, Json]:
        """A test event through the pipeline; answered as ``/webhooks/{provider}`` answers."""
        params.fields(body, ("provider", "amount", "currency", "status", "transaction_id"))
        field = params.string_field
        name = field(body, "provider", params.choice(self._providers), required=True)
        choice = SampleChoice(
            amount=field(body, "amount", params.amount, required=True),
            currency=field(body, "currency", params.currency, required=True),
            status=field(body, "status", params.text(40), required=True),
            transaction_id=field(
                body, "transaction_id", params.text(MAX_ID_LENGTH), required=False
            ),
        )
        pipeline = self._processor.pipeline
        provider = pipeline.provider(name)
        now = pipeline.clock()
        delivery = signed_delivery(provider, self._processor.secrets, now, choice)
        request = WebhookRequest.build(
            name,
            list(delivery.headers.items()),
            delivery.body,
            now,
            method="POST",
            url=f"{self._processor.config.base_url}/webhooks/{name}",
        )
        counters = self._processor.counters
        counters.received()
        try:
            outcome = await pipeline.receive_async(request)
        except WebhookError as error:
            counters.rejected(name, error.code, status_for(error))
            raise
        counters.answered(outcome)
        return 200, {
            "provider": name,
            "event_id": delivery.event_id,
            "status": outcome.disposition,
            "event_ids": list(outcome.event_ids),
        }


_DELIVERED: Final[Json] = {"state": "delivered", "attempts": 0, "last_error": None}


def _severity(sink: Json) -> int:
    """Which sink's state an event's one-word delivery shows: pending, then dead."""
    return {"delivered": 0, "dead": 1, "pending": 2}[sink["state"]]


def _not_text(value: Any) -> str:
    raise InvalidParameter(f"each key must be a string, got {type(value).__name__}")
