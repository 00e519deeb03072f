"""The reconciliation journal: what a store keeps of the reconciliations run against it.

A reconciliation (:mod:`webhook_processor.reconcile`) lists a provider's events in a
:class:`Window` and reports what became of each (:class:`Report`). A store that is reconciled
into is also its :class:`Journal`: each provider's high-water mark, a claim so that two runs never
list one provider at once, and, where the store keeps them, the events each run listed (the
local completeness report counts them by day).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from webhook_processor.storage.records import iso

#: How long a claim on a provider's reconciliation holds if its holder dies without releasing
#: it: longer than any run (a Lambda's is at most 15 minutes).
CLAIM_SECONDS: Final = 20 * 60


class Listing(enum.StrEnum):
    """What a reconciliation did with one listed event."""

    RECOVERED = "recovered"
    ALREADY_STORED = "already_stored"
    #: An event of a type the processor does not normalise (as its webhook would be ignored).
    IGNORED = "ignored"
    #: An event the adapter could not read (as its webhook would be refused 400): logged.
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class Listed:
    """One event the provider listed, and what became of it."""

    event_id: str
    created_at: datetime
    outcome: Listing


@dataclass(frozen=True, slots=True)
class Window:
    """From ``since`` (inclusive) to ``until`` (exclusive)."""

    since: datetime
    until: datetime


@dataclass
class Report:
    """What one reconciliation listed and did (``recovered``: stored by it, or with
    ``dry_run`` what it would have stored)."""

    provider: str
    window: Window
    dry_run: bool = False
    listings: list[Listed] = field(default_factory=list)
    #: Whether finishing it moves the provider's high-water mark to its end: False for a
    #: window that starts after the mark (what lies between was never listed).
    advances_mark: bool = True

    def count(self, outcome: Listing) -> int:
        return sum(1 for listed in self.listings if listed.outcome is outcome)

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "since": iso(self.window.since),
            "until": iso(self.window.until),
            "listed": len(self.listings),
            **{outcome.value: self.count(outcome) for outcome in Listing},
            "dry_run": self.dry_run,
        }


class Journal(Protocol):
    """Where a store keeps its reconciliations: each provider's high-water mark (the end of
    the last window listed whole), a claim so that two runs never list one provider at once,
    and what each run listed (for the completeness report, where the store keeps it)."""

    def reconciled_until(self, provider: str) -> datetime | None:
        """The end of the last window of ``provider`` reconciled whole, or None."""
        ...

    def claim_reconciliation(self, provider: str, holder: str, now: datetime) -> bool:
        """Claim ``provider``'s reconciliation for ``holder`` until ``now`` plus
        :data:`CLAIM_SECONDS`; False if another holder has a claim that has not expired."""
        ...

    def finish_reconciliation(self, report: Report, holder: str, now: datetime) -> None:
        """Record ``report`` (a whole window listed), advance the high-water mark to its end
        if that is later and the report ``advances_mark``, and release ``holder``'s claim."""
        ...

    def release_reconciliation(self, provider: str, holder: str) -> None:
        """Release ``holder``'s claim (a run that failed: the mark stays)."""
        ...


@dataclass(frozen=True, slots=True)
class Reconciled:
    """A window a reconciliation listed whole, and when it ran."""

    provider: str
    window: Window
    ran_at: datetime


#: (provider, UTC day as ``YYYY-MM-DD``) -> count of each kind (an :class:`Arrival` or a
#: :class:`Listing`).
DayCounts = dict[tuple[str, str], dict[str, int]]


class Completeness(Protocol):
    """What a store counts for the completeness report (``webhook-processor completeness``)."""

    def arrivals_by_day(self, since: datetime) -> DayCounts:
        """Stored events created (by the provider's time) at or after ``since``, by provider,
        day and :class:`~webhook_processor.model.Arrival`."""
        ...

    def listings_by_day(self, since: datetime) -> DayCounts:
        """Events reconciliations listed that were created at or after ``since``, by provider,
        day and what became of each (the first run that listed an event says)."""
        ...

    def reconciled_windows(self, since: datetime) -> list[Reconciled]:
        """The windows reconciled whole that end after ``since``."""
        ...
