"""The local store's delivery counts: each provider's verified deliveries by time bucket, what
the quiet-provider detector (:mod:`webhook_processor.quiet`) judges.

A count is added in batches (the server flushes what it counted every few seconds), so keeping
them costs one small upsert per provider and bucket, not a write per request. Buckets older than
:data:`KEEP` are deleted as new ones are added; the first bucket each provider was counted in is
kept for good, so a provider silent for longer than that is still judged (and quiet).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Final, Protocol

from webhook_processor.quiet import DEFAULTS, WEEK, History

#: How long counts are kept: the baseline's weeks, the widest window, and a week to chart.
KEEP: Final = DEFAULTS.history + timedelta(weeks=2)
#: :data:`KEEP` in buckets.
KEEP_BUCKETS: Final = int(KEEP / timedelta(weeks=1) * WEEK)


class DeliveryCounts(Protocol):
    def add_deliveries(self, counts: Mapping[tuple[str, int], int]) -> None:
        """Add ``counts`` (by provider and bucket) to those kept; forget buckets older than
        :data:`KEEP` before the newest added."""
        ...

    def delivery_histories(self, since: int) -> list[History]:
        """Every provider ever counted, by name, with its counts from bucket ``since`` and the
        bucket its counting began."""
        ...
