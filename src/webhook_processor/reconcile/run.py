"""One reconciliation: list a provider's events in a window, store what is missing.

Each listed event goes through its provider's normalisation (the one its webhook goes through,
without the signature: the API answered over TLS to our key) and the pipeline's identifier
checks, then the store's one conditional write per key, the key its webhook has. So an event
stored here and delivered later is a ``duplicate``, an event delivered while the listing runs
is stored once, and what is stored is published by the store's outbox (the local dispatcher,
the table's stream on AWS): a reconciliation never publishes, so nothing is published twice.

Pages are stored as they are read: if the API fails half-way, what was stored stays, and the
error says so. The window's end only advances the high-water mark once the whole window was
listed (:class:`Reconciler`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from webhook_processor.errors import (
    InvalidParameter,
    ProviderApiError,
    ProviderNotConfigured,
    RequestRejected,
    ServiceUnavailable,
    WebhookError,
)
from webhook_processor.limits import MAX_ID_LENGTH
from webhook_processor.model import Arrival, PaymentEvent, utc_now
from webhook_processor.pipeline import INPUT_ERRORS, check_event, check_publishable
from webhook_processor.reconcile.apis import EventApi
from webhook_processor.storage.base import EventStore
from webhook_processor.storage.journal import Journal, Listed, Listing, Report, Window
from webhook_processor.storage.records import iso

log = logging.getLogger(__name__)

#: ``--since`` when none is given: Stripe's and Square's retry horizon (about 72 hours).
DEFAULT_SINCE: Final = timedelta(hours=72)
#: The longest one run lists before it stops (what it stored stays; the mark does not move,
#: so the next run lists the window again): well within a claim (CLAIM_SECONDS), so two runs
#: never list one provider at once.
RUN_SECONDS: Final = 10 * 60
#: How far before the last reconciled moment a scheduled run starts again: an event the API
#: lists a little after its ``created`` time (or a clock a little off) is still seen.
OVERLAP: Final = timedelta(minutes=10)

#: The providers whose events can be listed, and what their users do instead for the others.
NO_EVENTS_API: Final = {
    "adyen": "Adyen has no API that lists past notifications: it retries each one from its "
    "retry queue for up to 30 days, and in its Customer Area Developers > Webhooks > "
    "Troubleshoot lists the failed ones and Developers > Event logs what was sent; see "
    "docs/reconcile.md, 'We missed webhooks'",
    "generic": "the generic sender has no events API: ask the sending system to resend what "
    "it sent in the window (its own outbox or logs); see docs/reconcile.md, 'We missed "
    "webhooks'",
}

_DURATION = re.compile(r"(?:(\d{1,6})d)?(?:(\d{1,7})h)?(?:(\d{1,9})m)?(?:(\d{1,10})s)?")


class ReconcileFailed(ProviderApiError):
    """The provider's API failed part-way through a window: the report says what was listed
    and stored before it did."""

    def __init__(self, cause: ProviderApiError, report: Report) -> None:
        recovered = report.count(Listing.RECOVERED)
        kept = f"; the {recovered} events recovered before it are stored" if recovered else ""
        WebhookError.__init__(self, cause.detail + kept)
        self.provider = cause.provider
        self.status = cause.status
        self.report = report


Normalise = Callable[[dict[str, Any], datetime], list[PaymentEvent]]


def reconcile(
    api: EventApi,
    normalise: Normalise,
    store: EventStore,
    window: Window,
    *,
    received_at: datetime,
    dry_run: bool = False,
    deadline: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> Report:
    """List ``api``'s events in ``window`` and store each payment event not stored yet; by
    ``deadline`` (a ``monotonic`` time), or fail there (the next run lists the window again)."""
    run = _Run(api, normalise, store, Report(api.provider, window, dry_run), received_at)
    try:
        for page in api.pages(window.since, window.until):
            run.store(page)
            if deadline is not None and monotonic() > deadline:
                raise ProviderApiError(
                    api.provider,
                    "was still listing when the run's time was up: it stops here, and the "
                    "next run lists the window again",
                )
    except ProviderApiError as exc:
        raise ReconcileFailed(exc, run.report) from exc
    return run.report


@dataclass
class _Run:
    """One reconciliation's pages, stored as they come."""

    api: EventApi
    normalise: Normalise
    store_: EventStore
    report: Report
    received_at: datetime
    #: Every event id listed so far: an API that lists one twice (a page boundary moving
    #: under new events, a repeating cursor) has it counted and stored once.
    seen: set[str] = field(default_factory=set)

    def store(self, page: list[dict[str, Any]]) -> None:
        report, window = self.report, self.report.window
        batch: dict[str, PaymentEvent] = {}
        pending: list[tuple[str, datetime, str]] = []
        for document in page:
            found, created = self.api.identify(document)
            event_id = _listed_id(found)
            if event_id in self.seen:
                continue
            self.seen.add(event_id)
            if created is not None and not window.since <= created < window.until:
                # Not what was asked for: the window's run, or none, is where it belongs.
                log.warning("%s listed event %s outside the window", report.provider, event_id)
                continue
            created = created or self.received_at
            events = self._read(document, event_id, created)
            if events is None:
                continue
            for event in events:
                batch.setdefault(event.key, event)
            pending.append((event_id, created, events[0].key))
        if report.dry_run:
            stored = {
                key: self.store_.get_event(e.provider, e.event_id) is None
                for key, e in batch.items()
            }
        else:
            inserted = self.store_.insert_all(list(batch.values())) if batch else []
            stored = dict(zip(batch, inserted, strict=True))
        for event_id, created, key in pending:
            outcome = Listing.RECOVERED if stored.get(key) else Listing.ALREADY_STORED
            report.listings.append(Listed(event_id, created, outcome))
        verb = "would recover" if report.dry_run else "recovered"
        for key, was_stored in stored.items():
            if was_stored:
                log.info("%s provider=%s event_id=%s", verb, report.provider, batch[key].event_id)

    def _read(
        self, document: dict[str, Any], event_id: str, created: datetime
    ) -> list[PaymentEvent] | None:
        """The document's events, as its webhook's would be read; None once it is counted as
        ignored or unreadable."""
        report = self.report
        try:
            events = [
                dataclasses.replace(event, arrival=Arrival.RECONCILIATION)
                for event in self.normalise(document, self.received_at)
            ]
            for event in events:
                check_event(event)
                check_publishable(event)
        except (RequestRejected, *INPUT_ERRORS) as exc:
            detail = getattr(exc, "detail", type(exc).__name__)
            log.warning("%s event %s could not be read: %r", report.provider, event_id, detail)
            report.listings.append(Listed(event_id, created, Listing.UNREADABLE))
            return None
        if not events:
            report.listings.append(Listed(event_id, created, Listing.IGNORED))
            return None
        return events


def _listed_id(found: str | None) -> str:
    """A listed event's id as the report and logs may show it: its own, if it is one an event
    can have (bounded, printable), else a placeholder (the adapter says what is wrong)."""
    if found is None or len(found) > MAX_ID_LENGTH or not found.isprintable():
        return "(no readable id)"
    return found


class ReconcileStore(EventStore, Journal, Protocol):
    """A store that keeps its reconciliations."""


@dataclass(frozen=True)
class Source:
    """A provider whose events can be listed: its API, and its adapter's reading of them."""

    api: EventApi
    normalise: Normalise


class Reconciler:
    """Reconciles the providers that have an events API and a key, one run at a time each."""

    def __init__(
        self,
        sources: Mapping[str, Source],
        store: ReconcileStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        on_recovered: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = sources
        self._store = store
        self._clock = clock
        self._on_recovered = on_recovered
        self._monotonic = monotonic
        self._holder = uuid.uuid4().hex

    def run(
        self,
        provider: str,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        dry_run: bool = False,
        seconds: float | None = None,
    ) -> Report:
        """Reconcile ``provider`` from ``since`` (default: its high-water mark less
        :data:`OVERLAP`, or :data:`DEFAULT_SINCE` ago) to ``until`` (default: now), stopping
        after :data:`RUN_SECONDS`, or ``seconds`` if fewer (what a Lambda has left)."""
        limit = RUN_SECONDS if seconds is None else max(0.0, min(RUN_SECONDS, seconds))
        source = self.sources.get(provider)
        if source is None:
            raise ProviderNotConfigured(no_source(provider))
        now = self._clock()
        window = self._window(source.api, since, until, now)
        if dry_run:
            return self._reconcile(source, window, now, limit, dry_run=True)
        if not self._store.claim_reconciliation(provider, self._holder, now):
            raise ReconcileBusy(provider)
        try:
            mark = self._store.reconciled_until(provider)
            report = self._reconcile(source, window, now, limit, dry_run=False)
        except BaseException:
            self._store.release_reconciliation(provider, self._holder)
            raise
        # The mark says everything before it was listed: a window that leaves a gap behind it
        # (a manual run over the last hour, days after the last scheduled one) is recorded but
        # does not move it, so the next scheduled run still starts where the gap does.
        report.advances_mark = (
            window.since <= mark if mark is not None else window.since <= now - DEFAULT_SINCE
        ) or since is None
        self._store.finish_reconciliation(report, self._holder, self._clock())
        return report

    def _reconcile(
        self, source: Source, window: Window, now: datetime, limit: float, *, dry_run: bool
    ) -> Report:
        try:
            report = reconcile(
                source.api,
                source.normalise,
                self._store,
                window,
                received_at=now,
                dry_run=dry_run,
                deadline=self._monotonic() + limit,
                monotonic=self._monotonic,
            )
        except ReconcileFailed as failed:
            self._recovered(failed.report)
            raise
        self._recovered(report)
        return report

    def _recovered(self, report: Report) -> None:
        if not report.dry_run and report.count(Listing.RECOVERED) and self._on_recovered:
            self._on_recovered()

    def _window(
        self, api: EventApi, since: datetime | None, until: datetime | None, now: datetime
    ) -> Window:
        oldest = now - api.retention
        end = min(until or now, now)
        if since is None:
            mark = self._store.reconciled_until(api.provider)
            start = max(oldest, (mark - OVERLAP) if mark else now - DEFAULT_SINCE)
            return Window(min(start, end), end)
        return check_window(api, since, end, now)


#: How far past the provider's retention ``--since`` may reach and be taken as its start: the
#: window is checked again a moment after the command read the clock (``--since 30d``).
_RETENTION_GRACE: Final = timedelta(minutes=1)


def check_window(api: EventApi, since: datetime, until: datetime | None, now: datetime) -> Window:
    """The window from ``since`` to ``until`` (default, and at most: now), if ``api`` keeps
    what it covers; InvalidParameter if it does not, or if it is empty."""
    oldest = now - api.retention
    end = min(until or now, now)
    if oldest - _RETENTION_GRACE <= since < oldest:
        since = oldest
    if since < oldest:
        raise InvalidParameter(
            f"--since {iso(since)} is before what {api.provider} keeps: its events API "
            f"lists the last {api.retention.days} days (from {iso(oldest)})"
        )
    if since >= end:
        raise InvalidParameter(f"--since {iso(since)} is not before --until {iso(end)}")
    return Window(since, end)


class ReconcileBusy(ServiceUnavailable):
    """Another run is reconciling this provider now."""

    code = "reconcile_busy"

    def __init__(self, provider: str) -> None:
        super().__init__(
            f"another reconciliation of {provider} is running (a serve --reconcile-every, or "
            "a scheduled run); it will finish within minutes: try again then"
        )


def no_source(provider: str) -> str:
    """Why ``provider`` cannot be reconciled, and what to do."""
    if provider in NO_EVENTS_API:
        return NO_EVENTS_API[provider]
    return f"no API key for {provider}: set WEBHOOK_API_KEY_{provider.upper()}"


def parse_duration(text: str) -> float:
    """``text`` as a duration in seconds (``15m``, ``1h30m``, ``7d``, ``90s``)."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise InvalidParameter(f"{text[:40]!r} is not a duration (15m, 1h, 7d, 90s)")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds).total_seconds()


def parse_moment(text: str, now: datetime, what: str) -> datetime:
    """``text`` as a moment: a duration before ``now`` (``72h``, ``15m``, ``7d``, ``1h30m``,
    ``90s``), an ISO 8601 time with its offset (``2026-12-01T08:00:00Z``), or a UTC date."""
    try:
        return _moment(text.strip(), now, what)
    except OverflowError:
        raise InvalidParameter(f"{what} {text[:40]!r} is out of range") from None


def _moment(text: str, now: datetime, what: str) -> datetime:
    if text and _DURATION.fullmatch(text):
        return now - timedelta(seconds=parse_duration(text))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise InvalidParameter(
            f"{what} {text[:40]!r} is neither a duration (72h, 15m, 7d) nor an ISO 8601 time "
            "(2026-12-01T08:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        if len(text) > 10:  # a time without an offset: which zone is not ours to guess
            raise InvalidParameter(f"{what} {text[:40]!r} has no UTC offset: add Z or +HH:MM")
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
