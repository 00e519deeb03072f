"""The quiet-provider detector on simulated weeks with a daily and a weekly cycle and noise
(:mod:`bench.traffic`): what it must flag, what it must not, and when it says nothing yet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.quiet import HISTORY_WEEKS, detection_delay, false_positives, history
from bench.traffic import EPOCH, PROFILES, Drop, Profile, busy_moment
from webhook_processor.quiet import (
    DEFAULTS,
    WEEK,
    WINDOWS,
    History,
    Settings,
    Verdict,
    assess,
    bucket_of,
    start_of,
    timeline,
)

BUSY, STEADY, SMALL, SPARSE = PROFILES


@pytest.mark.parametrize("profile", [BUSY, STEADY], ids=lambda p: p.name)
@pytest.mark.parametrize("seed", range(3))
def test_a_90_percent_drop_for_an_hour_at_a_busy_time_is_flagged_within_it(
    profile: Profile, seed: int
) -> None:
    delay = detection_delay(profile, 0.1, seed)
    assert delay is not None
    assert delay <= timedelta(hours=1)


@pytest.mark.parametrize("profile", [BUSY, STEADY, SMALL], ids=lambda p: p.name)
def test_a_full_stop_is_flagged(profile: Profile) -> None:
    delay = detection_delay(profile, 0.0, seed=0)
    assert delay is not None
    # The busy are judged on minutes; fifty a day takes most of a day before silence means
    # something.
    assert delay <= (timedelta(hours=1) if profile is not SMALL else timedelta(days=1))


def test_a_drop_flagged_is_flagged_at_the_end_of_its_window_and_not_before() -> None:
    start = busy_moment(HISTORY_WEEKS)
    judged = history(BUSY, HISTORY_WEEKS + 1, 0, [Drop(start, timedelta(hours=1), 0.0)])
    before = assess(judged, bucket_of(start))
    assert before.verdict is Verdict.OK
    after = assess(judged, bucket_of(start) + WINDOWS[0])
    assert (after.verdict, after.recent) == (Verdict.QUIET, 0)
    assert after.usual is not None
    assert after.usual >= DEFAULTS.min_usual
    assert after.ratio == 0


@pytest.mark.parametrize("profile", [BUSY, STEADY, SMALL], ids=lambda p: p.name)
def test_normal_weeks_nights_and_weekends_are_almost_never_flagged(profile: Profile) -> None:
    judged, quiet, verdicts = false_positives(profile, seeds=[0, 1])
    assert judged == 2 * 4 * WEEK
    assert verdicts[Verdict.OK] > judged // 2  # it did judge: not learning or sparse
    assert quiet / judged < 0.001


def test_nights_and_weekends_alone_are_not_flagged() -> None:
    judged = history(STEADY, HISTORY_WEEKS + 1, 3)
    first = bucket_of(EPOCH) + HISTORY_WEEKS * WEEK
    saturday_night = first + 5 * 288 + 36  # Saturday 03:00, the week's lowest traffic
    sunday = first + 6 * 288 + 144
    for end in (saturday_night, sunday, first + 36):
        found = assess(judged, end)
        assert found.verdict is Verdict.OK, found


def test_three_events_a_week_is_sparse_never_quiet() -> None:
    judged, quiet, verdicts = false_positives(SPARSE, seeds=[0, 1])
    assert quiet == 0
    assert verdicts[Verdict.SPARSE] == judged
    assert detection_delay(SPARSE, 0.0, seed=0) is None


def test_before_enough_history_there_is_no_verdict_and_it_says_when() -> None:
    counts = history(BUSY, 3, 0)  # three weeks: one day short
    end = bucket_of(EPOCH) + 3 * WEEK
    found = assess(counts, end)
    assert found.verdict is Verdict.LEARNING
    assert (found.usual, found.window, found.ratio) == (None, None, None)
    assert found.ready_at == EPOCH + DEFAULTS.history
    assert found.recent > 0
    ready = assess(counts, bucket_of(found.ready_at))
    assert ready.verdict is not Verdict.LEARNING


def test_one_odd_week_in_the_baseline_does_not_move_the_median() -> None:
    # An outage in the week before: the usual count is still the other weeks'.
    outage = busy_moment(HISTORY_WEEKS - 1)
    judged = history(BUSY, HISTORY_WEEKS + 1, 0, [Drop(outage, timedelta(hours=2), 0.0)])
    found = assess(judged, bucket_of(outage + timedelta(weeks=1, hours=1)))
    assert found.verdict is Verdict.OK
    assert found.usual is not None
    assert found.usual > 100


def test_the_window_widens_until_the_usual_count_means_something() -> None:
    now = bucket_of(busy_moment(HISTORY_WEEKS))
    busy, small = (
        assess(history(BUSY, HISTORY_WEEKS + 1, 0), now),
        assess(history(SMALL, HISTORY_WEEKS + 1, 0), now),
    )
    assert busy.window == timedelta(minutes=15)
    assert small.window is not None
    assert small.window >= timedelta(hours=4)
    assert small.usual is not None
    assert small.usual >= DEFAULTS.min_usual


@settings(max_examples=200, deadline=None)
@given(
    weekly=st.lists(st.integers(0, 60), min_size=12, max_size=12),
    level=st.integers(1, 40),
    recent=st.integers(0, 60),
)
def test_the_verdict_is_the_ratio_to_the_median_of_the_same_window_in_earlier_weeks(
    weekly: list[int], level: int, recent: int
) -> None:
    """On any counts: quiet exactly when recent < 0.2 x the median of the three weeks' same
    window, once that median reaches the minimum; and the verdict only looks back."""
    end = 10 * WEEK
    counts: dict[int, int] = {}
    for week in range(1, 4):  # the 15-minute window, a week, two and three weeks back
        for n in range(3):
            counts[end - week * WEEK - 3 + n] = weekly[(week - 1) * 3 + n] * level
    for n in range(3):
        counts[end - 3 + n] = recent if n == 0 else 0
    counts[end + 1] = 10**6  # the future is never judged
    found = assess(History("p", counts, end - 4 * WEEK), end)
    sums = sorted(sum(weekly[w * 3 : w * 3 + 3]) * level for w in range(3))
    median = sums[1]
    if median >= DEFAULTS.min_usual:
        assert found.window == timedelta(minutes=15)
        assert found.usual == median
        assert found.verdict is (Verdict.QUIET if recent < 0.2 * median else Verdict.OK)
    else:
        assert found.verdict is not Verdict.QUIET or found.window != timedelta(minutes=15)


@settings(max_examples=100, deadline=None)
@given(factor=st.integers(2, 50))
def test_scaling_every_count_never_makes_a_provider_quiet(factor: int) -> None:
    base = history(STEADY, HISTORY_WEEKS + 1, 1)
    counts = {b: base.total(b, b + 1) for b in range(base.since, base.since + 5 * WEEK)}
    scaled = History("p", {b: n * factor for b, n in counts.items()}, base.since)
    end = bucket_of(busy_moment(HISTORY_WEEKS))
    assert assess(base, end).verdict is Verdict.OK
    assert assess(scaled, end).verdict is Verdict.OK


def test_the_settings_are_checked() -> None:
    for bad in ({"weeks": 0}, {"ratio": 1.0}, {"ratio": 0}, {"min_usual": 0}):
        with pytest.raises(ValueError, match="weeks >= 1"):
            Settings(**bad)
    assert Settings(weeks=2).history == timedelta(weeks=2, days=1)


def test_a_timeline_has_the_band_of_the_earlier_weeks_and_marks_the_quiet_steps() -> None:
    start = busy_moment(HISTORY_WEEKS)
    judged = history(BUSY, HISTORY_WEEKS + 1, 0, [Drop(start, timedelta(hours=1), 0.0)])
    first = bucket_of(start) - 12
    points = timeline(judged, first, first + 36, 3)
    assert len(points) == 12
    assert points[0].at == start_of(first)
    for point in points:
        assert point.usual is not None
        assert point.low is not None
        assert point.high is not None
        assert point.low <= point.usual <= point.high
    verdicts = [p.verdict for p in points]
    assert verdicts[:4] == [Verdict.OK] * 4  # the hour before
    assert verdicts[4:8] == [Verdict.QUIET] * 4  # the stop, judged at each step's end
    assert [p.received for p in points[4:8]] == [0] * 4
    early = timeline(History("p", {}, first), first, first + 6, 3)
    assert [(p.usual, p.low, p.verdict) for p in early] == [(None, None, Verdict.LEARNING)] * 2


def test_history_sums_any_range() -> None:
    found = History.of("p", [(5, 2), (7, 3), (5, 1), (20, 4)], since=0)
    assert [found.total(0, 6), found.total(6, 21), found.total(8, 20), found.total(0, 100)] == [
        3,
        7,
        0,
        10,
    ]
