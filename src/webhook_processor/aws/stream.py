"""The stream publisher: the table's stream records, in order, to the topic; nothing lost when
the topic keeps refusing.

Every new version of a transaction item (an INSERT or MODIFY record) announces one stored event
and what it did to its transaction; it is published as the same envelope the local sinks write.
The records of one item are ordered in the stream, so subscribers get a transaction's updates in
the order they were applied. Event items' own records are not publications: the stream's mapping
filters them out (:data:`~webhook_processor.aws.items.PUBLICATION_FILTER`), and the publisher
skips any that reach it.

When a publication fails, what happens depends on the record's age (``now`` minus the record's
``ApproximateCreationDateTime``):

* **young** (under ``handoff_after``): the batch stops there and reports that record in
  ``batchItemFailures``; Lambda retries the shard from it. Records before it were published and
  are not retried; records after it were not sent yet and go out with the retry. So a brief
  outage costs nothing but delay, and a transaction's updates keep their order.
* **old**: the publisher hands the event off: it marks the event's item and puts the event's key
  on the publish-failures queue (:mod:`webhook_processor.aws.handoff`), then carries on
  with the next record. The queue keeps the key for 14 days, and the redrive publishes the event
  from the table; the stream itself forgets after 24 hours. Lambda retries a failing batch a few
  times only (``stream_max_retries``), so a record that crashes the function does not hold its
  shard for a day: its on-failure record lands in the same queue, and the redrive reads the
  batch back from the stream into hand-offs. A record that cannot be read into an event
  follows the same rule (a reader deployed meanwhile may read it); once old, it is queued for a
  person with the error, so that it does not hold its shard up.

Once the topic has refused one publication, the rest of the invocation does not try it again:
young records wait for the retry, old ones are handed off (the outage is what made them old).

An old record may have been handed off by an earlier attempt of the same batch (Lambda retries a
batch whose invocation failed or timed out): before publishing one, the publisher reads its
event's mark, and publishes nothing the redrive owns (see
:mod:`webhook_processor.aws.publications`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from webhook_processor.aws import items
from webhook_processor.aws.handoff import FailureQueue, HandOff, UnreadableRecord
from webhook_processor.aws.publications import Publications, State
from webhook_processor.errors import StorageUnavailable
from webhook_processor.model import PaymentEvent, utc_now
from webhook_processor.publishing.base import Sink
from webhook_processor.storage.records import iso

#: Records announce new items and new versions; the store never deletes.
PUBLISHED_EVENTS = items.PUBLISHED_EVENTS


@dataclass
class Report:
    """What one batch came to."""

    published: int = 0
    #: Publications the topic refused, and records that could not be read.
    failures: int = 0
    handed_off: list[str] = field(default_factory=list)
    #: Why the topic refused a publication, once it has: it is not tried again in this batch.
    refused: str | None = None
    #: The record Lambda must retry the shard from, and why; None when the batch is done.
    retry_from: str | None = None
    error: str | None = None


@dataclass
class StreamPublisher:
    """Publishes stream records to ``sink``; hands off to ``queue`` what it gives up on."""

    sink: Sink
    publications: Publications
    queue: FailureQueue
    handoff_after: timedelta
    clock: Callable[[], datetime] = utc_now

    def publish(self, records: Sequence[dict[str, Any]]) -> Report:
        """Publish ``records`` in order (see the module docstring)."""
        report = Report()
        for record in records:
            if record.get("eventName") not in PUBLISHED_EVENTS:
                continue
            sequence = str(record["dynamodb"]["SequenceNumber"])
            try:
                stop = self._one(record, report)
            except StorageUnavailable as exc:
                # Neither published nor safely handed off: Lambda retries from here.
                stop = exc.detail
            if stop is not None:
                report.retry_from, report.error = sequence, stop
                return report
        return report

    def _one(self, record: dict[str, Any], report: Report) -> str | None:
        """Publish or hand off one record; the error to stop the batch at it with, if any."""
        now = self.clock()
        old = now - _created(record, now) >= self.handoff_after
        try:
            event = items.published_event(items.deserialize(record["dynamodb"]["NewImage"]))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            report.failures += 1
            error = f"cannot read the stored event: {exc!r}"
            if not old:
                return error  # a reader deployed since may read it on the retry
            item, sequence = (
                items.stream_item_key(record),
                str(record["dynamodb"]["SequenceNumber"]),
            )
            self.queue.send(UnreadableRecord(item, sequence, error, iso(now)))
            report.handed_off.append(item)
            return None
        if event is None or (old and self._taken_by_redrive(event, now, report)):
            return None  # an event item's own record, or one the redrive owns
        return self._publish(event, old, now, report)

    def _publish(self, event: PaymentEvent, old: bool, now: datetime, report: Report) -> str | None:
        error = report.refused
        if error is None:
            error = self.sink.publish_batch([event]).get(event.key)
            if error is None:
                report.published += 1
                return None
            report.failures += 1
            report.refused = error
        if not old:
            return error
        if self.publications.hand_off(event.provider, event.event_id, error, now):
            self.queue.send(HandOff.of(event, error, now))
            report.handed_off.append(event.key)
        return None

    def _taken_by_redrive(self, event: PaymentEvent, now: datetime, report: Report) -> bool:
        """Whether an earlier attempt handed ``event`` off; if so, queue its key again (the
        first message may not have been sent) unless a redrive has it already."""
        mark = self.publications.get(event.provider, event.event_id)
        if mark is None:
            return False
        if mark.state is State.HANDED_OFF:
            self.queue.send(HandOff.of(event, mark.error or "handed off before", now))
            report.handed_off.append(event.key)
        return True


def _created(record: dict[str, Any], now: datetime) -> datetime:
    """When the record was written: a number of seconds in a Lambda event, a datetime from the
    SDK. A record without one counts as new (it is retried in place)."""
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        return created
    if created is None:
        return now
    return datetime.fromtimestamp(float(created), UTC)
