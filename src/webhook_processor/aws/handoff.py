"""The publish-failures queue: what the stream publisher gives up on, kept for 14 days.

A message names the event by its key and never carries the envelope: the table is the source
of truth, and the redrive rebuilds the exact envelope from the event's item, whatever happened
to the stream since (it forgets after 24 hours). The amount, currency and error beside the key
are for the operator who lists the queue; the redrive reads none of them.

Two kinds of message (``kind``):

* ``handed_off``: an event whose publication kept failing past the hand-off bound. Its item is
  marked first (:mod:`webhook_processor.aws.publications`), so the redrive can tell it from
  an event the stream published.
* ``unreadable_record``: a stream record that cannot be read back into an event (its item was
  written by other code, or damaged). It names the transaction item and the record's sequence
  number, and stays in the queue for a person: there is no event to publish.

A third kind arrives from Lambda itself: the record of a stream batch it discarded (see
:func:`webhook_processor.aws.failure_queues.decode`), the last resort if handing off failed
for 24 hours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from webhook_processor import codec
from webhook_processor.errors import InvalidPayload, StorageUnavailable
from webhook_processor.model import PaymentEvent
from webhook_processor.storage.records import iso

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_sqs import SQSClient

HANDED_OFF: Final = "handed_off"
UNREADABLE: Final = "unreadable_record"
#: Errors are kept short: an SDK message is enough to act on, and a queue message is 256 KiB.
MAX_ERROR: Final = 1000


@dataclass(frozen=True, slots=True)
class HandOff:
    """An event the stream publisher gave up on: the redrive publishes it from the table."""

    provider: str
    event_id: str
    transaction_id: str
    amount: Decimal
    currency: str
    #: The version of the transaction this event made (what the envelope carries).
    version: int | None
    error: str
    handed_off_at: str

    @classmethod
    def of(cls, event: PaymentEvent, error: str, at: datetime) -> HandOff:
        update = event.transaction
        named = ("provider", "event_id", "transaction_id", "amount", "currency")
        return cls(
            **{name: getattr(event, name) for name in named},
            version=None if update is None else update.version,
            error=error[:MAX_ERROR],
            handed_off_at=iso(at),
        )

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.event_id}"


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """A stream record the publisher could not read into an event."""

    transaction_key: str
    sequence_number: str
    error: str
    handed_off_at: str


Message = HandOff | UnreadableRecord


def encode(message: Message) -> str:
    """The message body."""
    kind = HANDED_OFF if isinstance(message, HandOff) else UNREADABLE
    return codec.dumps({"kind": kind, **asdict(message)})


def decode(body: str) -> Message:
    """Inverse of :func:`encode`; ValueError if ``body`` is not one of its messages."""
    try:
        fields: dict[str, Any] = codec.loads_object(body)
    except InvalidPayload as exc:
        raise ValueError(exc.detail) from exc
    kind = fields.pop("kind", None)
    try:
        if kind == HANDED_OFF:
            fields["amount"] = Decimal(fields["amount"])
            return HandOff(**fields)
        if kind == UNREADABLE:
            return UnreadableRecord(**fields)
    except (TypeError, KeyError, ArithmeticError) as exc:
        raise ValueError(f"a {kind} message without its fields: {exc}") from exc
    raise ValueError(f"not a publish-failures message (kind {kind!r})")


class FailureQueue:
    """Sends messages to the publish-failures queue."""

    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, message: Message) -> None:
        """Queue ``message``; :class:`StorageUnavailable` if SQS did not take it."""
        try:
            self._client.send_message(QueueUrl=self.queue_url, MessageBody=encode(message))
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"SQS SendMessage failed: {exc}") from exc
