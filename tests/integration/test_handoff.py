"""The hand-off and its marks on moto, case by case: what the publisher does with an old record,
when the queue refuses, when a record cannot be read; how a redrive claims an event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.test_lambda import Deployed, deploy, store_events
from tests.integration.test_operate import HANDOFF, published_ids, refuse_publications
from tests.support.aws import TABLE
from webhook_processor.aws import handoff
from webhook_processor.aws.dynamodb import DynamoDBStore
from webhook_processor.aws.failure_queues import PUBLISHER, RedriveFailed, Redriver, decode
from webhook_processor.aws.publications import CLAIM_SECONDS, Publications, State
from webhook_processor.aws.sns import SnsSink
from webhook_processor.model import utc_now


@pytest.fixture
def deployed() -> Iterator[Deployed]:
    with deploy() as deployment:
        yield deployment


def marks(deployed: Deployed) -> Publications:
    return Publications(TABLE, deployed.session.client("dynamodb"))


def queued(deployed: Deployed) -> list[handoff.Message]:
    sqs = deployed.session.client("sqs")
    found = sqs.receive_message(
        QueueUrl=deployed.resources.publish_failures_url, MaxNumberOfMessages=10
    ).get("Messages", [])
    return [handoff.decode(m["Body"]) for m in found]


def test_an_old_record_a_redrive_has_taken_is_neither_published_nor_queued(
    deployed: Deployed,
) -> None:
    store_events(deployed, 1)
    publications = marks(deployed)
    publications.hand_off("stripe", "evt_0", "refused", utc_now())
    assert publications.claim("stripe", "evt_0", "token", utc_now())
    deployed.publisher_clock.ahead = HANDOFF
    assert deployed.publish(deployed.stream_records()) == {"batchItemFailures": []}
    assert published_ids(deployed) == []
    assert queued(deployed) == []
    # A young record is not even looked up: the stream publishes it.
    deployed.publisher_clock.ahead = timedelta(0)
    deployed.publish(deployed.stream_records())
    assert published_ids(deployed) == ["evt_0"]


def test_when_the_queue_refuses_a_hand_off_the_batch_stops_there_and_the_retry_queues_it(
    deployed: Deployed,
) -> None:
    store_events(deployed, 2)
    records = deployed.stream_records()
    refuse_publications(deployed, {"evt_0", "evt_1"})
    queue_down = [True]

    def refuse(**_: Any) -> None:
        if queue_down:
            raise ClientError({"Error": {"Code": "KMS.KMSDisabled", "Message": "no"}}, "Send")

    deployed.sessions[PUBLISHER].events.register("before-call.sqs.SendMessage", refuse)
    deployed.publisher_clock.ahead = HANDOFF
    [failed] = deployed.publish(records)["batchItemFailures"]
    assert failed["itemIdentifier"] == deployed.announcements()[0]["dynamodb"]["SequenceNumber"]
    assert marks(deployed).get("stripe", "evt_0") is not None  # marked before the send
    queue_down.clear()
    assert deployed.publish(records) == {"batchItemFailures": []}
    assert sorted(m.event_id for m in queued(deployed) if isinstance(m, handoff.HandOff)) == [
        "evt_0",
        "evt_1",
    ]


def test_an_old_record_that_cannot_be_read_is_queued_for_a_person_and_the_batch_goes_on(
    deployed: Deployed,
) -> None:
    store_events(deployed, 2)
    records = deployed.announcements()
    del records[0]["dynamodb"]["NewImage"]["last_event"]["M"]["currency"]
    deployed.publisher_clock.ahead = HANDOFF
    assert deployed.publish(records) == {"batchItemFailures": []}
    assert published_ids(deployed) == ["evt_1"]
    [message] = queued(deployed)
    assert isinstance(message, handoff.UnreadableRecord)
    assert (message.transaction_key, message.sequence_number) == (
        "txn#stripe#pi_0",
        records[0]["dynamodb"]["SequenceNumber"],
    )
    assert message.error == "cannot read the stored event: KeyError('currency')"


def test_a_records_age_is_read_from_lambdas_seconds_and_a_record_without_one_is_new(
    deployed: Deployed,
) -> None:
    store_events(deployed, 2)
    first, second = deployed.announcements()
    written = first["dynamodb"]["ApproximateCreationDateTime"]
    first["dynamodb"]["ApproximateCreationDateTime"] = int(written.timestamp()) - 3600
    del second["dynamodb"]["ApproximateCreationDateTime"]
    refuse_publications(deployed, {"evt_0", "evt_1"})
    result = deployed.publish([first, second])
    assert result == {
        "batchItemFailures": [{"itemIdentifier": second["dynamodb"]["SequenceNumber"]}]
    }
    assert [m.event_id for m in queued(deployed) if isinstance(m, handoff.HandOff)] == ["evt_0"]


# -- the redrive's claim ----------------------------------------------------------------------


def redriver(deployed: Deployed, topic_arn: str | None = None) -> Redriver:
    dynamodb = deployed.session.client("dynamodb")
    return Redriver(
        invoke=lambda payload: {},
        store=DynamoDBStore(TABLE, dynamodb),
        publications=Publications(TABLE, dynamodb),
        sink=SnsSink(topic_arn or deployed.topic_arn, deployed.session.client("sns")),
    )


def letter(event_id: str) -> Any:
    message = handoff.HandOff("stripe", event_id, "pi_0", 10, "USD", 1, "refused", "2026")
    return decode(
        PUBLISHER, {"MessageId": "m", "ReceiptHandle": "r", "Body": handoff.encode(message)}
    )


def test_a_redrive_waits_for_another_ones_claim_until_it_is_stale(deployed: Deployed) -> None:
    store_events(deployed, 1)
    publications = marks(deployed)
    publications.hand_off("stripe", "evt_0", "refused", utc_now())
    assert publications.claim("stripe", "evt_0", "other", utc_now())
    with pytest.raises(RedriveFailed, match="another redrive is publishing it now"):
        redriver(deployed).redrive(letter("evt_0"))
    assert published_ids(deployed) == []
    # The other redrive was killed between its claim and its mark: after CLAIM_SECONDS, take it.
    late = redriver(deployed)
    late.clock = lambda: utc_now() + timedelta(seconds=CLAIM_SECONDS + 1)
    assert late.redrive(letter("evt_0")) == "published"
    assert published_ids(deployed) == ["evt_0"]
    assert publications.get("stripe", "evt_0").state is State.REDRIVEN  # type: ignore[union-attr]


def test_a_refused_redrive_gives_its_claim_back(deployed: Deployed) -> None:
    store_events(deployed, 1)
    publications = marks(deployed)
    publications.hand_off("stripe", "evt_0", "refused", utc_now())
    with pytest.raises(RedriveFailed, match="SNS publish failed"):
        redriver(deployed, deployed.topic_arn + "-gone").redrive(letter("evt_0"))
    assert publications.get("stripe", "evt_0").state is State.HANDED_OFF  # type: ignore[union-attr]
    assert redriver(deployed).redrive(letter("evt_0")) == "published"


def test_an_event_the_publisher_never_handed_off_is_not_published_by_a_redrive(
    deployed: Deployed,
) -> None:
    store_events(deployed, 1)
    with pytest.raises(RedriveFailed, match="never handed it off: the stream published it"):
        redriver(deployed).redrive(letter("evt_0"))
    assert published_ids(deployed) == []


def test_the_storage_of_marks_fails_as_storage_does(deployed: Deployed) -> None:
    deployed.session.client("dynamodb").delete_table(TableName=TABLE)
    with pytest.raises(RedriveFailed, match="DynamoDB get failed: ResourceNotFoundException"):
        redriver(deployed).redrive(letter("evt_0"))
