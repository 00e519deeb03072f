"""The completeness report: per provider and UTC day, did we get everything?

For each day (by the provider's time of each event): events delivered by webhook, events
recovered by reconciliation, listed events of types not normalised (``ignored``) or that could
not be read, and for providers with an events API what the provider listed, with how much of
the day reconciled windows covered (``whole``, ``part`` or ``never``). A day a reconciliation
listed whole and recovered nothing is a day no webhook was missed; a day never reconciled is
marked as such rather than counted as complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from webhook_processor.model import Arrival
from webhook_processor.reconcile.apis import DEFAULT_BASES
from webhook_processor.storage.journal import Completeness, Listing, Reconciled

#: What ``reconciled`` says of a provider that has no events API (Adyen, generic), and of one
#: that has one but no key here (so nothing was reconciled).
NO_API = "no events API"
NO_KEY = "never: no key"


@dataclass(frozen=True, slots=True)
class DayRow:
    provider: str
    day: str
    webhook: int
    recovered: int
    ignored: int
    unreadable: int
    #: What the provider's API listed that day; None where no window of it was reconciled.
    listed: int | None
    #: ``whole``, ``part``, ``never``, :data:`NO_KEY` or :data:`NO_API`.
    reconciled: str

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def completeness(
    store: Completeness,
    since: datetime,
    now: datetime,
    *,
    listable: Iterable[str],
    providers: Iterable[str] = (),
) -> list[DayRow]:
    """One row per provider and day from ``since``'s day to ``now``'s, newest day first: every
    provider in ``providers`` or with anything stored, those in ``listable`` (the providers with
    an events API and a key) with what reconciliations listed."""
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    arrivals = store.arrivals_by_day(start)
    listings = store.listings_by_day(start)
    windows = store.reconciled_windows(start)
    with_api = set(listable)
    names = sorted(
        set(providers)
        | with_api
        | {provider for provider, _ in arrivals}
        | {provider for provider, _ in listings}
        | {run.provider for run in windows}
    )
    rows = []
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    while day >= start:
        key = day.date().isoformat()
        for provider in names:
            came = arrivals.get((provider, key), {})
            listed = listings.get((provider, key), {})
            coverage = _coverage(windows, provider, day, min(day + timedelta(days=1), now))
            reconciled = coverage
            if coverage == "never" and provider not in with_api:
                reconciled = NO_KEY if provider in DEFAULT_BASES else NO_API
            rows.append(
                DayRow(
                    provider=provider,
                    day=key,
                    webhook=came.get(Arrival.WEBHOOK, 0),
                    recovered=came.get(Arrival.RECONCILIATION, 0),
                    ignored=listed.get(Listing.IGNORED, 0),
                    unreadable=listed.get(Listing.UNREADABLE, 0),
                    listed=None if coverage == "never" else sum(listed.values()),
                    reconciled=reconciled,
                )
            )
        day -= timedelta(days=1)
    return rows


def _coverage(runs: list[Reconciled], provider: str, start: datetime, end: datetime) -> str:
    """How much of ``[start, end)`` the provider's reconciled windows cover."""
    spans = sorted(
        (max(run.window.since, start), min(run.window.until, end))
        for run in runs
        if run.provider == provider and run.window.since < end and run.window.until > start
    )
    if not spans:
        return "never"
    reached = start
    for since, until in spans:
        if since > reached:
            return "part"
        reached = max(reached, until)
    return "whole" if reached >= end else "part"
