"""The quiet-provider detector on simulated weeks (:mod:`bench.traffic`): how often it flags
normal traffic, and how soon it flags a drop.

* **False positives**: four weeks of history, then four weeks judged every 5 minutes (every
  bucket), for each traffic profile and five seeds: the share of judgements that said ``quiet``,
  and the hours a week they cover.
* **Detection**: a 90% drop for an hour, and a full stop, starting on a weekday at 14:00 UTC
  (a busy time) after four weeks of history: minutes from the drop's start to the first
  ``quiet`` (the bucket still filling is never judged, so up to 5 minutes of that is the bucket).

Not a timing benchmark: the figures are counts, the same on any machine.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

from bench.traffic import EPOCH, PROFILES, Drop, Profile, busy_moment, simulate
from webhook_processor.quiet import DEFAULTS, WEEK, History, Settings, Verdict, assess, bucket_of

HISTORY_WEEKS: Final = 4
JUDGED_WEEKS: Final = 4
SEEDS: Final = range(5)


def history(profile: Profile, weeks: int, seed: int, drops: Sequence[Drop] = ()) -> History:
    return History(profile.name, simulate(profile, weeks, seed, drops), bucket_of(EPOCH))


def false_positives(
    profile: Profile, seeds: Sequence[int] = SEEDS, settings: Settings = DEFAULTS
) -> tuple[int, int, dict[Verdict, int]]:
    """Judgements made, judgements that said quiet, and every verdict's count."""
    verdicts = dict.fromkeys(Verdict, 0)
    start = bucket_of(EPOCH) + HISTORY_WEEKS * WEEK
    for seed in seeds:
        judged = history(profile, HISTORY_WEEKS + JUDGED_WEEKS, seed)
        for end in range(start + 1, start + JUDGED_WEEKS * WEEK + 1):
            verdicts[assess(judged, end, settings).verdict] += 1
    return sum(verdicts.values()), verdicts[Verdict.QUIET], verdicts


def detection_delay(
    profile: Profile, factor: float, seed: int, settings: Settings = DEFAULTS
) -> timedelta | None:
    """How long after a drop to ``factor`` at a busy time the detector first says quiet; None
    if it did not within the drop's hour (a full stop: within a day)."""
    start = busy_moment(HISTORY_WEEKS)
    length = timedelta(hours=1) if factor else timedelta(days=1)
    judged = history(profile, HISTORY_WEEKS + 1, seed, [Drop(start, length, factor)])
    first = bucket_of(start)
    for end in range(first + 1, first + int(length / timedelta(minutes=5)) + 1):
        if assess(judged, end, settings).verdict is Verdict.QUIET:
            return (end - first) * timedelta(minutes=5)
    return None


def main() -> dict[str, Any]:
    settings = Settings()
    print(
        f"quiet providers (ratio {settings.ratio}, median of {settings.weeks} weeks, "
        f"usual at least {settings.min_usual:g}), on simulated weeks:"
    )
    print(
        f"{'profile':<8} {'per day':>8} {'false pos.':>11} {'h/week':>7} "
        f"{'90% drop':>9} {'stop':>9}  verdicts"
    )
    results: dict[str, Any] = {}
    for profile in PROFILES:
        judged, quiet, verdicts = false_positives(profile)
        hours = quiet * 5 / 60 / (JUDGED_WEEKS * len(SEEDS))
        delays = {}
        for name, factor in (("drop", 0.1), ("stop", 0.0)):
            found = [detection_delay(profile, factor, seed) for seed in SEEDS]
            minutes = [d.total_seconds() / 60 for d in found if d is not None]
            delays[name] = {
                "flagged": len(minutes),
                "of": len(found),
                "median_minutes": statistics.median(minutes) if minutes else None,
            }
        shown = {
            name: (
                f"{d['median_minutes']:.0f} min"
                if d["flagged"] == d["of"]
                else f"{d['flagged']}/{d['of']}"
            )
            for name, d in delays.items()
        }
        counts = ", ".join(f"{v.value} {n}" for v, n in verdicts.items() if n)
        print(
            f"{profile.name:<8} {profile.per_day:>8g} {quiet / judged:>11.4%} {hours:>7.2f} "
            f"{shown['drop']:>9} {shown['stop']:>9}  {counts}"
        )
        results[profile.name] = {
            "judged": judged,
            "false_positives": quiet,
            "false_positive_rate": quiet / judged,
            "quiet_hours_per_week": hours,
            **delays,
        }
    return results


if __name__ == "__main__":
    main()
