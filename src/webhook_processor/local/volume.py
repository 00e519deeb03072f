"""Is each provider still sending? Delivery counts kept by ``serve``, the quiet-provider verdicts
(:mod:`webhook_processor.quiet`), and what the providers say of our endpoints.

``serve`` counts every verified delivery (stored, duplicate or ignored: a provider retrying, or
sending types we do not keep, is still sending) in memory by provider and 5-minute bucket, and
writes the counts to SQLite every :data:`FLUSH_SECONDS` and at shutdown: one upsert per provider
and bucket, never a write per request. A crash loses at most those seconds of counts, never an
event. Reconciled events are not counted: they are what the webhooks failed to bring.

With an events-API key (``WEBHOOK_API_KEY_<PROVIDER>``), ``serve`` asks the provider every
:data:`ENDPOINT_CHECK_SECONDS` whether our endpoint is still there and enabled
(:mod:`webhook_processor.reconcile.endpoints`); ``status`` asks when it runs.

And is each sink still taking what we publish? A sink whose oldest undelivered event was received
more than ``stale_after`` seconds ago is behind (a subscriber that is down or slow): ``status``
says so, and so does ``/healthz``, without naming it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from webhook_processor.errors import WebhookError
from webhook_processor.local.reconciling import endpoint_api, listable
from webhook_processor.local.secrets import LocalSecrets
from webhook_processor.model import utc_now
from webhook_processor.quiet import (
    BUCKET,
    DEFAULTS,
    WEEK,
    Assessment,
    History,
    Settings,
    Verdict,
    assess,
    bucket_of,
    timeline,
)
from webhook_processor.reconcile.endpoints import EndpointCheck, check_endpoints, not_asked
from webhook_processor.reconcile.transport import Transport
from webhook_processor.storage.base import Backlog
from webhook_processor.storage.volume import DeliveryCounts

log = logging.getLogger(__name__)

#: Seconds between writes of the counts.
FLUSH_SECONDS: Final = 10.0
#: Seconds between questions to the providers about our endpoints: a disabled endpoint is news
#: within a quarter of an hour, and the providers' rate limits are not troubled.
ENDPOINT_CHECK_SECONDS: Final = 900.0
#: Seconds after which a sink's oldest undelivered event means the sink is behind: longer than
#: the five attempts and their pauses that a failing event gets by default (about 65 s).
STALE_AFTER_SECONDS: Final = 120.0
#: The charts: a day in 15-minute steps, a week in hours.
CHARTS: Final = {"day": (timedelta(days=1), 3), "week": (timedelta(weeks=1), 12)}


class DeliveryCounter:
    """Verified deliveries counted in memory, written to ``store`` in batches. Thread-safe."""

    def __init__(self, store: DeliveryCounts, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: collections.Counter[tuple[str, int]] = collections.Counter()

    def count(self, provider: str) -> None:
        """One verified delivery for ``provider``, now."""
        bucket = bucket_of(self._clock())
        with self._lock:
            self._pending[provider, bucket] += 1

    def flush(self) -> None:
        """Write what was counted; what cannot be written is kept for the next flush."""
        with self._lock:
            pending, self._pending = self._pending, collections.Counter()
        try:
            self._store.add_deliveries(pending)
        except WebhookError as exc:
            log.warning("delivery counts not written, kept for the next try: %s", exc.detail)
            with self._lock:
                self._pending.update(pending)

    def histories(self, since: int) -> list[History]:
        """Every provider's counts from bucket ``since``, including what is not written yet."""
        self.flush()
        return self._store.delivery_histories(since)


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """One provider: the detector's verdict and, where asked, the provider's word."""

    assessment: Assessment
    endpoint: EndpointCheck

    @property
    def provider(self) -> str:
        return self.assessment.provider

    @property
    def needs_attention(self) -> bool:
        """Quiet, or the provider says it is not sending to us."""
        return self.assessment.verdict is Verdict.QUIET or self.endpoint.down

    def as_json(self) -> dict[str, Any]:
        a = self.assessment
        return {
            "provider": a.provider,
            "verdict": a.verdict.value,
            "recent": a.recent,
            "usual": None if a.usual is None else round(a.usual, 1),
            "window_minutes": None if a.window is None else int(a.window.total_seconds()) // 60,
            "ratio": None if a.ratio is None else round(a.ratio, 3),
            "endpoint": self.endpoint.state.value,
            "endpoint_detail": self.endpoint.detail,
            "ready_at": None if a.ready_at is None else a.ready_at.isoformat(),
        }


def statuses(
    histories: Iterable[History],
    endpoints: Mapping[str, EndpointCheck],
    now: datetime,
    settings: Settings = DEFAULTS,
) -> list[ProviderStatus]:
    """Every provider counted or asked about, by name. The window judged ends with the bucket
    still filling, so what was just delivered shows at once; it can read up to one bucket low,
    which a ratio of 0.2 has room for."""
    end = bucket_of(now) + 1
    by_provider = {history.provider: history for history in histories}
    for provider in endpoints:  # asked about, never counted: counting begins now
        by_provider.setdefault(provider, History(provider, {}, end))
    return [
        ProviderStatus(
            assess(by_provider[name], end, settings),
            endpoints.get(name) or not_asked(name, "not asked: no events-API key"),
        )
        for name in sorted(by_provider)
    ]


@dataclass(frozen=True, slots=True)
class LaneStatus:
    """What one sink has still to take, and whether it is behind."""

    sink: str
    #: Events in its outbox: due, or waiting for a retry.
    pending: int
    #: Its dead letters: events it gave up on, until a redrive or its recovery.
    dead: int
    #: When the oldest undelivered event (pending or dead) was received; None if there is none.
    oldest: datetime | None
    #: Seconds since then (0 when nothing is undelivered).
    age: float
    stale: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "sink": self.sink,
            "pending": self.pending,
            "dead": self.dead,
            "oldest_undelivered_at": None if self.oldest is None else self.oldest.isoformat(),
            "oldest_undelivered_seconds": round(self.age, 1),
            "stale": self.stale,
        }


def lane_statuses(
    sinks: Iterable[str],
    backlogs: Mapping[str, Backlog],
    now: datetime,
    stale_after: float = STALE_AFTER_SECONDS,
) -> list[LaneStatus]:
    """Each of ``sinks`` with its backlog, in order. A sink is behind when its oldest
    undelivered event, pending or dead, was received more than ``stale_after`` seconds ago: a
    subscriber that is down turns its events into dead letters within a minute, and is no
    less behind for it."""
    found = []
    for sink in sinks:
        backlog = backlogs.get(sink)
        if backlog is None:
            found.append(LaneStatus(sink, 0, 0, None, 0.0, False))
            continue
        age = max(0.0, (now - backlog.oldest).total_seconds())
        found.append(
            LaneStatus(sink, backlog.pending, backlog.dead, backlog.oldest, age, age > stale_after)
        )
    return found


def stale_detail(lanes: Iterable[LaneStatus]) -> str | None:
    """What ``/healthz`` says of the sinks that are behind, without naming them (it answers
    anyone, and a subscriber's URL may hold a credential); None when none is."""
    stale = [lane for lane in lanes if lane.stale]
    if not stale:
        return None
    oldest = max(lane.age for lane in stale)
    return (
        f"{len(stale)} of the sinks {'is' if len(stale) == 1 else 'are'} behind: the oldest "
        f"undelivered event was received {oldest:.0f} s ago (see /status)"
    )


def status_document(
    histories: Iterable[History],
    endpoints: Mapping[str, EndpointCheck],
    now: datetime,
    settings: Settings = DEFAULTS,
    lanes: Iterable[LaneStatus] = (),
) -> dict[str, Any]:
    """``GET /status`` and ``status --json``: ``attention`` while any provider or sink needs
    it."""
    found = statuses(histories, endpoints, now, settings)
    lanes = list(lanes)
    attention = any(s.needs_attention for s in found) or any(lane.stale for lane in lanes)
    return {
        "status": "attention" if attention else "ok",
        "at": now.isoformat(),
        "providers": [s.as_json() for s in found],
        "sinks": [lane.as_json() for lane in lanes],
    }


def ask_endpoints(
    secrets: LocalSecrets, environ: Mapping[str, str], transport: Transport | None = None
) -> dict[str, EndpointCheck]:
    """What each provider with an events-API key says of our endpoints."""
    found = {}
    for provider in listable(secrets, environ):
        try:
            api = endpoint_api(provider, secrets, environ, transport)
        except WebhookError as exc:
            found[provider] = not_asked(provider, f"not asked: {exc.detail}")
            continue
        if api is not None:
            found[provider] = check_endpoints(api)
    return found


def history_start(now: datetime, settings: Settings = DEFAULTS) -> int:
    """The first bucket a verdict or a week's chart reads."""
    return bucket_of(now) - int(settings.history / timedelta(weeks=1) * WEEK) - WEEK


def charts(
    histories: Iterable[History], now: datetime, span: str, settings: Settings = DEFAULTS
) -> list[dict[str, Any]]:
    """Per provider, the steps of the last day or week: received, the usual band, the verdict.
    The last step ends with the bucket still filling, as the window :func:`statuses` judges
    does: a delivery shows at once, and the last step's verdict is the status line's."""
    length, step = CHARTS[span]
    end = bucket_of(now) + 1
    start = end - int(length / BUCKET)
    return [
        {
            "provider": history.provider,
            "step_minutes": step * 5,
            "points": [
                {
                    "at": point.at.isoformat(),
                    "received": point.received,
                    "usual": point.usual,
                    "low": point.low,
                    "high": point.high,
                    "verdict": point.verdict.value,
                }
                for point in timeline(history, start, end, step, settings)
            ],
        }
        for history in histories
    ]


class Watch:
    """``serve``'s thread that writes the counts and asks the providers about our endpoints."""

    def __init__(
        self,
        counter: DeliveryCounter,
        ask: Callable[[], dict[str, EndpointCheck]],
        *,
        flush_seconds: float = FLUSH_SECONDS,
        check_seconds: float = ENDPOINT_CHECK_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counter = counter
        self._ask = ask
        self._flush_seconds = flush_seconds
        self._check_seconds = check_seconds
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="volume", daemon=True)
        self._lock = threading.Lock()
        self._endpoints: dict[str, EndpointCheck] = {}
        self._checked_at: float | None = None

    @property
    def endpoints(self) -> dict[str, EndpointCheck]:
        """The providers' latest answers (none before the first check)."""
        with self._lock:
            return dict(self._endpoints)

    def check_endpoints(self) -> None:
        try:
            found = self._ask()
        except Exception as exc:  # the thread outlives anything one check meets
            log.error("endpoint check failed unexpectedly (%s)", type(exc).__name__)
            return
        for check in found.values():
            if check.down:
                log.error("%s endpoint %s: %s", check.provider, check.state.value, check.detail)
        with self._lock:
            self._endpoints = found

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.counter.flush()

    def tick(self) -> None:
        """One pass: write the counts; ask the providers when it is time."""
        self.counter.flush()
        now = self._monotonic()
        if self._checked_at is None or now - self._checked_at >= self._check_seconds:
            self._checked_at = now
            self.check_endpoints()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self._flush_seconds)
