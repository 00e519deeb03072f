"""The inspector's counters: counts since start, and a bounded ring of recent rejections."""

from __future__ import annotations

import threading

from tests.support.builders import NOW
from webhook_processor.local.counters import MAX_PROVIDER_CHARS, RECENT_REJECTIONS, Counters
from webhook_processor.model import Disposition, Outcome


def test_outcomes_count_stored_duplicates_and_ignored() -> None:
    counters = Counters(lambda: NOW)
    counters.answered(Outcome(Disposition.ACCEPTED, ("evt_1", "evt_2"), stored=2))
    counters.answered(Outcome(Disposition.DUPLICATE, ("evt_1",), stored=0))
    counters.answered(Outcome(Disposition.IGNORED, (), stored=0))
    snapshot = counters.snapshot()
    assert (snapshot["stored"], snapshot["duplicates"], snapshot["ignored"]) == (2, 1, 1)


def test_rejections_are_kept_bounded_newest_first_without_anything_a_sender_sent() -> None:
    counters = Counters(lambda: NOW)
    for n in range(RECENT_REJECTIONS + 50):
        counters.rejected(f"p{n}", "invalid_signature", 401)
    counters.rejected("x" * 10_000, "unknown_provider", 404)
    recent = counters.rejections()
    assert len(recent) == RECENT_REJECTIONS
    assert recent[0].provider == "x" * MAX_PROVIDER_CHARS
    assert recent[1].provider == f"p{RECENT_REJECTIONS + 49}"
    assert counters.snapshot()["rejected_by_reason"] == {
        "invalid_signature": RECENT_REJECTIONS + 50,
        "unknown_provider": 1,
    }


def test_every_change_the_page_lists_moves_the_revision() -> None:
    counters = Counters(lambda: NOW)
    seen = [counters.revision]
    counters.received()  # not yet anything to list
    assert counters.revision == seen[-1]
    for change in (
        lambda: counters.answered(Outcome(Disposition.ACCEPTED, ("evt_1",), stored=1)),
        lambda: counters.rejected("stripe", "invalid_signature", 401),
        lambda: counters.delivered("file", 1),
        lambda: counters.dead("file"),
        counters.changed,
    ):
        change()
        assert counters.revision > seen[-1]
        seen.append(counters.revision)
    snapshot = counters.snapshot()
    assert (snapshot["published_by_sink"], snapshot["dead_by_sink"]) == ({"file": 1}, {"file": 1})


def test_counts_from_many_threads_are_all_kept() -> None:
    counters = Counters(lambda: NOW)

    def deliver() -> None:
        for _ in range(2000):
            counters.delivered("http", 1)
            counters.received()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snapshot = counters.snapshot()
    assert (snapshot["published"], snapshot["received"]) == (8000, 8000)


def test_a_provider_path_with_invisible_characters_is_kept_as_escapes() -> None:
    counters = Counters(lambda: NOW)
    counters.rejected("\u202e\u200bspoof", "unknown_provider", 404)
    counters.rejected("stripe\x00x", "unknown_provider", 404)
    assert [r.provider for r in counters.rejections()] == ["stripe\\x00x", "\\u202e\\u200bspoof"]
