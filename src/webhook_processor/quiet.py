"""Is a provider quiet? Its recent deliveries against the same time of the week in weeks before.

When nothing reaches the processor, every failure alarm stays green: a disabled endpoint, a DNS
or edge change, a deleted subscription and a quiet evening all look alike. Payment traffic has a
daily and a weekly cycle, so a band of standard deviations around a weekly mean misses real drops
(a night's count sits inside the band of a day's). The comparison here is a ratio against the
median of the same window of the week over the previous :attr:`Settings.weeks` weeks:

* **recent**: deliveries in the window ending at the last complete :data:`BUCKET`;
* **usual**: the median, over each of the previous weeks, of the deliveries in the same window
  shifted back by whole weeks (one odd week, an outage or a holiday, does not move a median of
  three);
* **window**: the shortest of :data:`WINDOWS` whose usual count is at least
  :attr:`Settings.min_usual`. A busy provider is judged on its last 15 minutes, so a drop is seen
  within minutes; a slower one on hours, so that "nothing for a while" is news and not chance;
* **verdict**: ``quiet`` when recent < ``ratio`` x usual. ``sparse`` when even the widest window
  usually holds fewer than ``min_usual`` (three events a week: silence means nothing); ``learning``
  until there are ``weeks`` weeks of history before the widest window (22 days by default).

The defaults were chosen on simulated weeks with a daily and a weekly cycle and noise, where they
flag a 90% drop at a busy hour within 15 to 30 minutes and hold a false-positive rate near zero
(``bench/quiet.py`` prints both; docs/status.md quotes them).

Counts come in :data:`BUCKET`-long buckets numbered from the Unix epoch (:func:`bucket_of`);
everything here is a pure function of them, so the local store and a test can feed it alike.
"""

from __future__ import annotations

import bisect
import enum
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

#: How finely deliveries are counted.
BUCKET: Final = timedelta(minutes=5)
_BUCKET_SECONDS: Final = int(BUCKET.total_seconds())
#: Buckets in a week: the baseline's shift.
WEEK: Final = int(timedelta(weeks=1) / BUCKET)
#: The windows tried, shortest first: 15 minutes to a day.
WINDOWS: Final = tuple(
    int(timedelta(minutes=m) / BUCKET) for m in (15, 30, 60, 120, 240, 480, 720, 1440)
)


class Verdict(enum.StrEnum):
    """What the detector says of one provider."""

    #: Recent deliveries are in line with the usual count for this time of the week.
    OK = "ok"
    #: Recent deliveries fell below ``ratio`` of the usual count: look now.
    QUIET = "quiet"
    #: Not enough history for a usual count yet.
    LEARNING = "learning"
    #: Too few deliveries even in a day for silence to mean anything.
    SPARSE = "sparse"


@dataclass(frozen=True, slots=True)
class Settings:
    """The detector's knobs; the defaults are documented in docs/status.md."""

    #: How many previous weeks the usual count is the median of.
    weeks: int = 3
    #: Below this fraction of the usual count, a provider is quiet.
    ratio: float = 0.2
    #: The usual count a window must hold before its silence means anything.
    min_usual: float = 30.0

    def __post_init__(self) -> None:
        if self.weeks < 1 or not 0 < self.ratio < 1 or self.min_usual <= 0:
            raise ValueError("weeks >= 1, 0 < ratio < 1 and min_usual > 0")

    @property
    def history(self) -> timedelta:
        """How much history a verdict needs: ``weeks`` weeks before the widest window."""
        return timedelta(weeks=self.weeks) + WINDOWS[-1] * BUCKET


#: The defaults.
DEFAULTS: Final = Settings()


@dataclass(frozen=True, slots=True)
class Assessment:
    """One provider's verdict at one moment, with the figures behind it."""

    provider: str
    verdict: Verdict
    #: The end of the window judged (the last complete bucket's end).
    at: datetime
    #: The window judged; None while learning.
    window: timedelta | None
    #: Deliveries in the window.
    recent: int
    #: The median of the same window in the previous weeks; None while learning.
    usual: float | None
    #: When a verdict can first be given (learning only).
    ready_at: datetime | None = None

    @property
    def ratio(self) -> float | None:
        """recent / usual, where usual is more than 0."""
        return self.recent / self.usual if self.usual else None


def bucket_of(moment: datetime) -> int:
    """The number of the bucket ``moment`` falls in."""
    return int(moment.timestamp()) // _BUCKET_SECONDS


def start_of(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * _BUCKET_SECONDS, UTC)


class History:
    """One provider's deliveries by bucket, from the bucket its counting began.

    Sums over any range are two lookups in a prefix sum over the buckets that hold a count, so
    a chart can judge every point of a week without rescanning it.
    """

    def __init__(self, provider: str, counts: Mapping[int, int], since: int) -> None:
        self.provider = provider
        self.since = since
        self._buckets = sorted(counts)
        self._sums = [0]
        for bucket in self._buckets:
            self._sums.append(self._sums[-1] + counts[bucket])

    @classmethod
    def of(cls, provider: str, rows: Iterable[tuple[int, int]], since: int) -> History:
        counts: dict[int, int] = {}
        for bucket, count in rows:
            counts[bucket] = counts.get(bucket, 0) + count
        return cls(provider, counts, since)

    def total(self, start: int, end: int) -> int:
        """Deliveries in buckets ``start`` to ``end - 1``."""
        low = bisect.bisect_left(self._buckets, start)
        high = bisect.bisect_left(self._buckets, end)
        return self._sums[high] - self._sums[low]


def assess(history: History, end: int, settings: Settings = DEFAULTS) -> Assessment:
    """The verdict on the window ending at bucket ``end`` (exclusive): pass the bucket of now,
    so the bucket still filling is not judged."""
    at = start_of(end)
    reach = WINDOWS[-1] + settings.weeks * WEEK
    if history.since > end - reach:
        recent = history.total(end - WINDOWS[0], end)
        ready = start_of(history.since + reach)
        return Assessment(history.provider, Verdict.LEARNING, at, None, recent, None, ready)
    usual, recent, width = 0.0, 0, WINDOWS[0]
    for width in WINDOWS:
        usual = statistics.median(
            history.total(end - width - k * WEEK, end - k * WEEK)
            for k in range(1, settings.weeks + 1)
        )
        recent = history.total(end - width, end)
        if usual >= settings.min_usual:
            verdict = Verdict.QUIET if recent < settings.ratio * usual else Verdict.OK
            return Assessment(history.provider, verdict, at, width * BUCKET, recent, usual)
    return Assessment(history.provider, Verdict.SPARSE, at, width * BUCKET, recent, usual)


@dataclass(frozen=True, slots=True)
class Point:
    """One step of a chart: deliveries in the step, the usual band, and the verdict at its end."""

    at: datetime
    received: int
    #: The median of the same step in the previous weeks, and the lowest and highest of them.
    usual: float | None
    low: int | None
    high: int | None
    verdict: Verdict


def timeline(
    history: History, start: int, end: int, step: int, settings: Settings = DEFAULTS
) -> list[Point]:
    """The steps of ``step`` buckets from ``start`` to ``end``, each judged at its end."""
    points = []
    for first in range(start, end, step):
        last = min(first + step, end)
        received = history.total(first, last)
        weeks = [
            history.total(first - k * WEEK, last - k * WEEK)
            for k in range(1, settings.weeks + 1)
            if first - k * WEEK >= history.since
        ]
        usual = statistics.median(weeks) if len(weeks) == settings.weeks else None
        points.append(
            Point(
                start_of(first),
                received,
                usual,
                min(weeks) if usual is not None else None,
                max(weeks) if usual is not None else None,
                assess(history, last, settings).verdict,
            )
        )
    return points
