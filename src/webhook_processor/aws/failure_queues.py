"""The deployed stack's two failure queues, decoded for an operator, and their redrive.

* The receiver's dead-letter queue holds direct invocations that failed every asynchronous
  retry: Lambda puts the invocation's payload in the message body and the error in its
  ``ErrorCode`` and ``ErrorMessage`` attributes. Redriving one invokes the receiver with the
  payload again, synchronously; the receiver stores an event once, so a payload stored since is
  answered ``duplicate``.
* The publish-failures queue holds the keys of stored events the publisher gave up on
  (:mod:`webhook_processor.aws.handoff`). Redriving one re-reads the event from the
  table and publishes it, exactly once (:mod:`webhook_processor.aws.publications`): the
  stream is not needed, so the 24 hours it keeps records do not matter.
* It also holds Lambda's on-failure records: a stream batch the mapping discarded once its few
  retries were spent (a record that crashed the publisher, say). Such a record only points
  into the stream (shard and sequence numbers), so its redrive reads the whole batch back
  while the stream still holds it (24 hours) and turns it into hand-offs: each event it
  announced is marked and its key queued, as the publisher would have, and the queue keeps
  them 14 days; the same redrive run then publishes each from the table.

A message is deleted only after its redrive succeeded; one that fails stays in its queue,
visible again at once, with the error. Nothing here prints: the CLI
(:mod:`webhook_processor.aws.commands`) does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from webhook_processor import codec
from webhook_processor.aws import handoff, items
from webhook_processor.aws.publications import State
from webhook_processor.aws.stream import PUBLISHED_EVENTS
from webhook_processor.errors import WebhookError
from webhook_processor.model import utc_now

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

    from webhook_processor.aws.publications import PublicationMarks
    from webhook_processor.publishing.base import Sink
    from webhook_processor.storage.base import EventStore


RECEIVER: Final = "receiver"
PUBLISHER: Final = "publisher"
#: Errors and payload fields are cut to this for display: enough to act on.
SHOWN: Final = 200


@dataclass(frozen=True)
class QueuedFailure:
    """One message of a failure queue, decoded (a local sink's failure is a ``DeadLetter``
    of the store; this is a message of an SQS queue)."""

    queue: str
    message_id: str
    receipt: str
    #: ``invocation`` (receiver), ``handed_off``, ``unreadable_record``, ``stream_batch``
    #: (publisher), or ``unreadable`` (a body neither kind).
    kind: str
    provider: str | None
    event_id: str | None
    amount: Decimal | None
    currency: str | None
    error: str
    sent_at: datetime | None
    body: str


class RedriveFailed(Exception):
    """A message could not be redriven; it stays in its queue."""


class FailureQueueReader(Protocol):
    """What the ``aws`` commands do with a failure queue (:class:`QueueReader` on SQS)."""

    name: str

    def depth(self) -> int: ...

    def messages(self, limit: int | None, hold_seconds: int) -> Iterator[QueuedFailure]: ...

    def delete(self, letter: QueuedFailure) -> None: ...

    def keep(self, letter: QueuedFailure) -> None: ...


class QueueReader:
    """Reads one failure queue: without consuming, deleting, releasing."""

    def __init__(self, name: str, url: str, client: SQSClient, *, wait_seconds: int = 1) -> None:
        self.name, self.url = name, url
        self._client = client
        self._wait = wait_seconds

    def depth(self) -> int:
        """About how many messages are visible (SQS's approximate count)."""
        attributes = self._client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def messages(self, limit: int | None, hold_seconds: int) -> Iterator[QueuedFailure]:
        """Up to ``limit`` messages, each hidden from other readers for ``hold_seconds`` until
        it is deleted (:meth:`delete`) or kept (:meth:`keep`: visible again once the iteration
        ends, so that it is not read twice meanwhile). Long polling: an empty answer means an
        empty queue."""
        seen: set[str] = set()
        self._kept: list[str] = []
        try:
            while limit is None or len(seen) < limit:
                batch = self._client.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=10 if limit is None else min(10, limit - len(seen)),
                    VisibilityTimeout=hold_seconds,
                    WaitTimeSeconds=self._wait,
                    MessageSystemAttributeNames=["SentTimestamp"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                # Read again: its hold ran out while the run went on. It is kept all the same.
                self._kept += [m["ReceiptHandle"] for m in batch if m["MessageId"] in seen]
                fresh = [m for m in batch if m["MessageId"] not in seen]
                if not fresh:
                    return
                for message in fresh:
                    seen.add(message["MessageId"])
                    yield decode(self.name, message)
        finally:
            for receipt in self._kept:
                self._client.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=0
                )

    def delete(self, letter: QueuedFailure) -> None:
        """The message is done with."""
        self._client.delete_message(QueueUrl=self.url, ReceiptHandle=letter.receipt)

    def keep(self, letter: QueuedFailure) -> None:
        """The message stays in the queue: visible again when the reading ends."""
        self._kept.append(letter.receipt)


def decode(queue: str, message: Mapping[str, Any]) -> QueuedFailure:
    """``message`` of ``queue`` (:data:`RECEIVER` or :data:`PUBLISHER`) decoded; a body that
    cannot be read is kind ``unreadable``, never an exception."""
    body = str(message.get("Body", ""))
    sent = message.get("Attributes", {}).get("SentTimestamp")
    common = {
        "queue": queue,
        "message_id": message["MessageId"],
        "receipt": message["ReceiptHandle"],
        "sent_at": None if sent is None else datetime.fromtimestamp(int(sent) / 1000, UTC),
        "body": body,
    }
    fields = (
        _invocation(body, message.get("MessageAttributes", {}))
        if queue == RECEIVER
        else _publication(body)
    )
    return QueuedFailure(**common, **fields)


def _blank(kind: str, error: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "provider": None,
        "event_id": None,
        "amount": None,
        "currency": None,
        "error": error[:SHOWN],
    }


def _invocation(body: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """A direct invocation's payload: the generic payload itself, or ``{"body": ...}`` with or
    without the provider's ``headers``."""
    error = str(attributes.get("ErrorMessage", {}).get("StringValue", "(no error recorded)"))
    try:
        payload = codec.loads_object(body)
        wrapped = isinstance(payload.get("body"), str)
        inner = codec.loads_object(payload["body"]) if wrapped else payload
    except WebhookError as exc:
        return _blank("unreadable", f"not an invocation payload: {exc.detail}")
    headers = payload["headers"] if isinstance(payload.get("headers"), dict) else {}
    event_id = inner.get("event_id") or inner.get("id") or headers.get("webhook-id")
    return {
        **_blank("invocation", error),
        # A replay names its provider; the generic payload's own "provider" is the sender's.
        "provider": str((wrapped and payload.get("provider")) or "generic")[:SHOWN],
        "event_id": None if event_id is None else str(event_id)[:SHOWN],
        "amount": _amount(inner.get("amount")),
        "currency": None if inner.get("currency") is None else str(inner["currency"])[:SHOWN],
    }


def _publication(body: str) -> dict[str, Any]:
    try:
        message = handoff.decode(body)
    except ValueError as exc:
        batch = _stream_batch(body)
        return batch if batch is not None else _blank("unreadable", str(exc))
    if isinstance(message, handoff.UnreadableRecord):
        fields = _blank("unreadable_record", message.error)
        return {**fields, "event_id": f"{message.transaction_key} @{message.sequence_number}"}
    return {
        "kind": "handed_off",
        "provider": message.provider,
        "event_id": message.event_id,
        "amount": message.amount,
        "currency": message.currency,
        "error": message.error[:SHOWN],
    }


def _stream_batch(body: str) -> dict[str, Any] | None:
    """Lambda's record of a stream batch it discarded (on-failure destination)."""
    try:
        record = codec.loads_object(body)
        batch = record["DDBStreamBatchInfo"]
        where = f"{batch['shardId']} {batch['startSequenceNumber']}..{batch['endSequenceNumber']}"
    except (WebhookError, KeyError, TypeError):
        return None
    condition = record.get("requestContext", {}).get("condition", "discarded")
    first = batch.get("approximateArrivalOfFirstRecord", "?")
    return {
        **_blank("stream_batch", f"{condition}: records from {first}, Lambda discarded them"),
        "event_id": where[:SHOWN],
    }


def _amount(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


# -- redrive -----------------------------------------------------------------------------------


def invoker(client: LambdaClient, function_name: str) -> Callable[[str], dict[str, Any]]:
    """Invoke ``function_name`` synchronously with a payload; its answer, with
    ``errorMessage`` if the function raised."""

    def invoke(payload: str) -> dict[str, Any]:
        response = client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=payload.encode("utf-8"),
        )
        answer = codec.loads(response["Payload"].read() or b"{}")
        if not isinstance(answer, dict):
            answer = {"answer": answer}
        if "FunctionError" in response and "errorMessage" not in answer:
            answer["errorMessage"] = response["FunctionError"]
        return answer

    return invoke


class HandOffSender(Protocol):
    """Queues a hand-off (:class:`~webhook_processor.aws.handoff.FailureQueue`)."""

    def send(self, message: handoff.Message) -> None: ...


class StreamRecords(Protocol):
    """Where a discarded stream batch's records are read back (:class:`StreamReader`)."""

    def batch(self, info: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The records of the batch ``info`` (an on-failure record's ``DDBStreamBatchInfo``)
        describes, in order; :class:`RedriveFailed` if the stream no longer holds them."""
        ...


class StreamReader:
    """Reads a batch's records from the table's stream (DynamoDB Streams)."""

    #: GetRecords calls one batch may take (a page can be empty mid-shard, so pages are
    #: followed, not counted as the end): a batch is at most the mapping's batch size.
    MAX_READS: Final = 1000

    def __init__(self, client: Any) -> None:
        # A ``dynamodbstreams`` client (the project installs no type stubs for it).
        self._client = client

    def batch(self, info: Mapping[str, Any]) -> list[dict[str, Any]]:
        try:
            start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
            size = int(info.get("batchSize", 0))
            arn, shard = str(info["streamArn"]), str(info["shardId"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RedriveFailed(f"not a stream batch Lambda describes: {exc!r}") from exc
        if end < start or not 0 <= size <= MAX_BATCH:
            raise RedriveFailed(f"not a batch a stream mapping sends: {start}..{end} ({size})")
        try:
            found = self._read(arn, shard, start, end)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("TrimmedDataAccessException", "ResourceNotFoundException"):
                raise RedriveFailed(_STREAM_GONE) from exc
            raise
        last = int(found[-1]["dynamodb"]["SequenceNumber"]) if found else None
        if last is None or last < end or (size and len(found) != size):
            raise RedriveFailed(
                f"read {len(found)} of the batch's {size or '?'} records ({start}..{end}): "
                + _STREAM_GONE
            )
        return found

    def _read(self, arn: str, shard: str, start: int, end: int) -> list[dict[str, Any]]:
        iterator: str | None = self._client.get_shard_iterator(
            StreamArn=arn,
            ShardId=shard,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(start),
        )["ShardIterator"]
        found: list[dict[str, Any]] = []
        for _ in range(self.MAX_READS):
            if iterator is None:
                break
            answer = self._client.get_records(ShardIterator=iterator, Limit=1000)
            records = [dict(r) for r in answer.get("Records", [])]
            found += [r for r in records if int(r["dynamodb"]["SequenceNumber"]) <= end]
            if records and int(records[-1]["dynamodb"]["SequenceNumber"]) >= end:
                break
            iterator = answer.get("NextShardIterator")
        return found


#: The largest batch a stream mapping sends (its BatchSize's maximum).
MAX_BATCH: Final = 10_000
_STREAM_GONE: Final = (
    "the stream no longer holds this batch (it keeps records 24 hours): its events are stored "
    "in the table but were not published, and this message is kept for a person"
)


@dataclass
class Redriver:
    """What a redrive needs: the receiver to invoke, the table and topic to publish from, and
    the stream to read a discarded batch back from."""

    invoke: Callable[[str], dict[str, Any]]
    store: EventStore
    publications: PublicationMarks
    sink: Sink
    clock: Callable[[], datetime] = utc_now
    stream: StreamRecords | None = None
    #: Where a discarded batch's events are queued as hand-offs (the publish-failures queue).
    handoffs: HandOffSender | None = None

    def redrive(self, letter: QueuedFailure) -> str:
        """Redrive one message; what became of it, or :class:`RedriveFailed`."""
        try:
            if letter.kind == "invocation":
                return self._invoke(letter)
            if letter.kind == "handed_off":
                return self._republish(str(letter.provider), str(letter.event_id))
            if letter.kind == "stream_batch" and self.stream and self.handoffs:
                return self._stream_batch(letter, self.stream, self.handoffs)
        except (ClientError, BotoCoreError, WebhookError) as exc:
            raise RedriveFailed(str(exc)[:SHOWN]) from exc
        raise RedriveFailed(_why_not[letter.kind])

    def _stream_batch(
        self, letter: QueuedFailure, stream: StreamRecords, handoffs: HandOffSender
    ) -> str:
        """Turn the discarded batch into hand-offs: each event it announced is marked and its
        key queued (the 14-day queue then holds it, whatever the stream forgets), and the rest
        of this run redrives them like any other. An event of the batch that an earlier attempt
        did publish goes out again: subscribers know it by ``event_id`` and ``version``."""
        try:
            info = codec.loads_object(letter.body)["DDBStreamBatchInfo"]
        except KeyError as exc:
            raise RedriveFailed("not a stream batch Lambda describes") from exc
        announced, unreadable = [], []
        for record in stream.batch(info):
            if record.get("eventName") not in PUBLISHED_EVENTS:
                continue
            try:
                event = items.published_event(items.deserialize(record["dynamodb"]["NewImage"]))
            except (KeyError, TypeError, ValueError, ArithmeticError):
                unreadable.append(str(record["dynamodb"]["SequenceNumber"]))
                continue
            if event is not None:
                announced.append(event)
        now, queued, error = self.clock(), 0, "in a stream batch Lambda discarded"
        for event in announced:
            # False: a redrive has it already (it published it, or is publishing it now).
            if self.publications.hand_off(event.provider, event.event_id, error, now):
                handoffs.send(handoff.HandOff.of(event, error, now))
                queued += 1
        if unreadable:
            raise RedriveFailed(
                f"handed off {queued} events; records {', '.join(unreadable)} could not "
                "be read into events: fix their items, then delete this message"[:SHOWN]
            )
        return f"handed off {queued} of the {len(announced)} events the batch announced"

    def _invoke(self, letter: QueuedFailure) -> str:
        answer = self.invoke(letter.body)
        if "errorMessage" in answer:
            raise RedriveFailed(f"the receiver refused it again: {answer['errorMessage']}"[:SHOWN])
        return f"{answer.get('status', 'stored')} {', '.join(answer.get('event_ids', []))}"

    def _republish(self, provider: str, event_id: str) -> str:
        event = self.store.get_event(provider, event_id)
        if event is None:
            raise RedriveFailed(f"no stored event {provider}:{event_id} in the table")
        mark = self.publications.get(provider, event_id)
        if mark is None:
            raise RedriveFailed("the publisher never handed it off: the stream published it")
        if mark.state is State.REDRIVEN:
            return "already published by an earlier redrive"
        token = uuid.uuid4().hex
        if not self.publications.claim(provider, event_id, token, self.clock()):
            raise RedriveFailed("another redrive is publishing it now; try again later")
        refused = self.sink.publish_batch([event]).get(event.key)
        if refused is not None:
            self.publications.release(provider, event_id, token)
            raise RedriveFailed(refused[:SHOWN])
        self.publications.redriven(provider, event_id, token, self.clock())
        return "published"


_why_not: Final = {
    "unreadable_record": "the stream record could not be read into an event: fix its item, "
    "then delete this message",
    "stream_batch": "a stream batch Lambda discarded: this redrive cannot read the stream",
    "unreadable": "not a message this processor writes",
}
