"""Where an event's publication stands once the stream could not publish it, on its own item.

Normally nothing is recorded: the table's stream publishes every stored event at least once.
When the publisher gives a stream record up (it kept failing past the hand-off bound, see
:mod:`webhook_processor.aws.stream`), it marks the event's item and puts the event's key
on the publish-failures queue, which keeps it for 14 days where the stream keeps records for 24
hours. The redrive then publishes the event from the table. The mark is what makes that exactly
once::

    (none) --publisher hands off--> handed_off --redrive claims--> redriving --published--> redriven
                                        ^---------- the topic refused: claim released ------'

* The publisher reads the mark before it publishes a record old enough to have been handed off,
  and never publishes one that was: a retried stream record that SNS would now take is left to
  the redrive (its key is queued again, in case the first message was lost). So an event goes
  out from the stream or from the redrive, never from both.
* A redrive publishes only after winning a conditional claim, and marks the event redriven
  after; a second message for the same event finds it redriven and is deleted unpublished. Two
  redrives that run at once cannot both win the claim.
* A message whose event was never handed off is refused (the stream published that event).
* A claim left by a redrive that was killed between its claim and its mark can be taken again
  once :data:`CLAIM_SECONDS` have passed; the event may then go out twice. That is the one
  window left, chosen over its opposite (an event never published): subscribers recognise a
  repeat by its ``event_id`` and ``transaction.version``.

Items are only ever updated here, never replaced: the event's own attributes stay as stored.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

from botocore.exceptions import ClientError

from webhook_processor.aws import items
from webhook_processor.aws.errors import dynamodb_errors
from webhook_processor.storage.records import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: How long a redrive's claim holds before another redrive may take it over.
CLAIM_SECONDS: Final = 300
_NAMES: Final = items.PUBLICATION_ATTRIBUTES


class State(enum.StrEnum):
    """Where a handed-off event's publication stands."""

    HANDED_OFF = "handed_off"
    REDRIVING = "redriving"
    REDRIVEN = "redriven"


_STATES: Final = {f":{state.value}": state.value for state in State}


@dataclass(frozen=True, slots=True)
class Publication:
    """The mark on an event's item: its state, since when, and the error that caused it."""

    state: State
    at: str
    error: str | None = None


def publication_of(item: dict[str, Any]) -> Publication | None:
    """The mark an event item (a GetItem or Query result) carries, or None."""
    state, at, error = (_NAMES[name] for name in ("#state", "#at", "#error"))
    if state not in item:
        return None
    return Publication(State(item[state]), str(item.get(at, "")), item.get(error))


class PublicationMarks(Protocol):
    """What the redrive asks of the marks (:class:`Publications` keeps them in the table)."""

    def get(self, provider: str, event_id: str) -> Publication | None: ...

    def hand_off(self, provider: str, event_id: str, error: str, at: datetime) -> bool: ...

    def claim(self, provider: str, event_id: str, token: str, at: datetime) -> bool: ...

    def release(self, provider: str, event_id: str, token: str) -> None: ...

    def redriven(self, provider: str, event_id: str, token: str, at: datetime) -> None: ...


class Publications:
    """The marks of one table's event items."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._client = client

    def get(self, provider: str, event_id: str) -> Publication | None:
        """The event's mark (a strongly consistent read), or None: also None if the event is
        not stored."""
        with dynamodb_errors("get"):
            response = self._client.get_item(
                TableName=self.table_name,
                Key=_key(provider, event_id),
                ConsistentRead=True,
                ProjectionExpression="#state, #at, #error",
                ExpressionAttributeNames={n: _NAMES[n] for n in ("#state", "#at", "#error")},
            )
        item = response.get("Item")
        if item is None:
            return None
        return publication_of({name: value["S"] for name, value in item.items()})

    def hand_off(self, provider: str, event_id: str, error: str, at: datetime) -> bool:
        """Mark the event handed off to the queue; False if a redrive has it already (then it
        must not be queued again)."""
        return self._update(
            provider,
            event_id,
            "SET #state = :handed_off, #at = :at, #error = :error",
            "attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :handed_off)",
            {":at": iso(at), ":error": error[:1000]},
        )

    def claim(self, provider: str, event_id: str, token: str, at: datetime) -> bool:
        """Take the event for one redrive; False if it is not handed off, or another redrive
        holds a claim younger than :data:`CLAIM_SECONDS`, or it is redriven."""
        stale = iso(at - timedelta(seconds=CLAIM_SECONDS))
        return self._update(
            provider,
            event_id,
            "SET #state = :redriving, #at = :at, #claim = :token",
            "#state = :handed_off OR (#state = :redriving AND #at < :stale)",
            {":at": iso(at), ":token": token, ":stale": stale},
        )

    def release(self, provider: str, event_id: str, token: str) -> None:
        """Give a claim back without publishing: the event is handed off again."""
        self._update(
            provider,
            event_id,
            "SET #state = :handed_off REMOVE #claim",
            "#state = :redriving AND #claim = :token",
            {":token": token},
        )

    def redriven(self, provider: str, event_id: str, token: str, at: datetime) -> None:
        """The claim's redrive published the event."""
        self._update(
            provider,
            event_id,
            "SET #state = :redriven, #at = :at",
            "#claim = :token",
            {":at": iso(at), ":token": token},
        )

    def _update(
        self, provider: str, event_id: str, update: str, condition: str, values: dict[str, str]
    ) -> bool:
        expressions = update + " " + condition
        known = {**_STATES, **values}
        with dynamodb_errors("update"):
            try:
                self._client.update_item(
                    TableName=self.table_name,
                    Key=_key(provider, event_id),
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={
                        name: _NAMES[name] for name in set(re.findall(r"#\w+", expressions))
                    },
                    ExpressionAttributeValues={
                        name: {"S": known[name]} for name in set(re.findall(r":\w+", expressions))
                    },
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    return False
                raise
        return True


def _key(provider: str, event_id: str) -> dict[str, Any]:
    return items.key(items.event_key(provider, event_id))
