"""Simulated webhook traffic with a daily and a weekly cycle and noise: what the quiet-provider
detector's defaults were chosen on, and what its tests run it against.

A profile's rate follows the day (lowest at 03:00 UTC, highest at 15:00), is lower at weekends,
drifts by a few percent from week to week, and each hour's rate is multiplied by a gamma-distributed
factor (real traffic is burstier than Poisson: campaigns, batch payouts, retries). The count in
each 5-minute bucket is then Poisson. Everything is seeded: a run is reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from webhook_processor.quiet import WEEK, bucket_of, start_of

#: A Monday at midnight UTC: simulated weeks start here.
EPOCH: Final = datetime(2026, 1, 5, tzinfo=UTC)
_WEEKDAY_LEVEL: Final = (1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 0.45)


@dataclass(frozen=True, slots=True)
class Profile:
    """One provider's traffic."""

    name: str
    #: Deliveries on an average weekday.
    per_day: float
    #: The rate at the night's trough, as a fraction of the afternoon's peak.
    night: float = 0.08
    #: The gamma shape of each hour's noise: lower is burstier (12: about 29% from hour to hour).
    noise: float = 12.0
    #: Week-to-week drift of the level (standard deviation of its logarithm).
    drift: float = 0.05


#: From a busy shop to one with three payments a week.
PROFILES: Final = (
    Profile("busy", 20_000),
    Profile("steady", 1_000),
    Profile("small", 50),
    Profile("sparse", 3 / 5, night=0.3),
)


@dataclass(frozen=True, slots=True)
class Drop:
    """From ``start`` for ``length``, the rate times ``factor`` (0: a full stop)."""

    start: datetime
    length: timedelta
    factor: float


def _daily(hour: float, night: float) -> float:
    return night + (1 - night) * (0.5 - 0.5 * math.cos(2 * math.pi * (hour - 3) / 24))


def _weekday_mean(night: float) -> float:
    return sum(_daily(h / 12, night) for h in range(288)) / 288


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:  # the normal approximation, rounded, is Poisson's to within a fraction
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def simulate(profile: Profile, weeks: int, seed: int, drops: Sequence[Drop] = ()) -> dict[int, int]:
    """Deliveries by bucket for ``weeks`` weeks from :data:`EPOCH`."""
    rng = random.Random(f"{profile.name}-{seed}")
    per_bucket = profile.per_day / 288 / _weekday_mean(profile.night)
    first = bucket_of(EPOCH)
    counts: dict[int, int] = {}
    level, noise = 1.0, 1.0
    for n in range(weeks * WEEK):
        moment = start_of(first + n)
        if n % WEEK == 0:
            level = math.exp(rng.gauss(0, profile.drift))
        if n % 12 == 0:
            noise = rng.gammavariate(profile.noise, 1 / profile.noise)
        hour = moment.hour + moment.minute / 60
        mean = per_bucket * level * noise * _daily(hour, profile.night)
        mean *= _WEEKDAY_LEVEL[moment.weekday()]
        for drop in drops:
            if drop.start <= moment < drop.start + drop.length:
                mean *= drop.factor
        count = _poisson(rng, mean)
        if count:
            counts[first + n] = count
    return counts


def busy_moment(week: int, weekday: int = 2, hour: int = 14) -> datetime:
    """A busy time: a weekday afternoon of simulated week ``week`` (0 is the first)."""
    return EPOCH + timedelta(weeks=week, days=weekday, hours=hour)
