"""The Lambda functions on moto: Function URL receiver, stream publisher, SSM secrets."""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.events.models import EventPattern

from tests.infra.matrix import PUBLISHER, RECEIVER, Stack
from tests.oracles import square as square_oracle
from tests.support import calls as calls_module
from tests.support.aws import (
    SECRETS_PATH,
    TABLE,
    Resources,
    as_lambda_sends,
    create_resources,
    read_stream,
)
from tests.support.bad_inputs import BAD_INPUTS
from tests.support.builders import (
    NOW,
    SECRETS,
    STRIPE_SECRET,
    adyen_item,
    adyen_notification,
    encode,
    generic_body,
    make_event,
    signed,
    square_event,
    stripe_event,
)
from tests.support.hostile_inputs import MAX_ERROR_RESPONSE_BYTES
from webhook_processor.aws.bootstrap import AwsConfig, build_publisher, build_receiver
from webhook_processor.aws.dynamodb import DynamoDBStore
from webhook_processor.aws.handlers import observability, publisher, receiver
from webhook_processor.aws.handlers.observability import Handler
from webhook_processor.aws.handoff import UnreadableRecord
from webhook_processor.aws.items import PUBLICATION_FILTER
from webhook_processor.aws.sns import SnsSink
from webhook_processor.errors import (
    SignatureInvalid,
    StorageUnavailable,
    WebhookError,
)
from webhook_processor.model import utc_now

#: The resources ``create_resources`` makes, named as the program names a stack called "test".
STACK = Stack.named("test")
TEMPLATE = json.loads(
    (Path(__file__).parent.parent / "events" / "function_url_v2.json").read_text()
)


@dataclass(frozen=True)
class Context:
    function_name: str = "webhook-receiver-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:webhook-receiver-test"
    )
    aws_request_id: str = "c1f2e3d4-a5b6-47c8-9d0e-1f2a3b4c5d6e"
    remaining_millis: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


class Clock:
    """The publisher's clock: the wall clock (stream records carry the time they were really
    written), moved forward to make records old."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.ahead


@dataclass
class Deployed:
    #: The test's own view of the account (setup and assertions).
    session: boto3.Session
    resources: Resources
    #: What each function's code calls AWS through: recorded, and held to the access matrix.
    sessions: dict[str, boto3.Session]
    #: The deployed functions' code, wired by the real builders with the suite's fixed clock
    #: (so signed timestamps are current) and this session.
    receive_handler: Handler
    publish_handler: Handler
    publisher_clock: Clock

    @property
    def topic_arn(self) -> str:
        return self.resources.topic_arn

    @property
    def queue_url(self) -> str:
        return self.resources.queue_url

    def receive(self, event: dict[str, Any]) -> tuple[int, Any]:
        response = self.receive_handler(event, Context())
        body = response["body"]
        try:
            return response["statusCode"], json.loads(body)
        except ValueError:  # a body a provider prescribes, such as Adyen's [accepted]
            return response["statusCode"], body

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A direct (IAM-authenticated) invocation of the receiver."""
        return self.receive_handler(payload, Context())

    def publish(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return self.publish_handler({"Records": records}, Context())

    def items(self) -> list[dict[str, Any]]:
        """The stored events (the table also holds one item per transaction)."""
        items = self.session.resource("dynamodb").Table(TABLE).scan()["Items"]
        return [item for item in items if item["kind"] == "event"]

    def messages(self) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        found = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            found += batch

    def announcements(self) -> list[dict[str, Any]]:
        """The stream records the publisher publishes: each new version of a transaction."""
        return [
            record
            for record in self.stream_records()
            if record["dynamodb"]["NewImage"].get("kind") == {"S": "transaction"}
        ]

    def stream_records(self) -> list[dict[str, Any]]:
        """The table's stream as Lambda's event source mapping would deliver it."""
        arn = self.session.client("dynamodb").describe_table(TableName=TABLE)["Table"][
            "LatestStreamArn"
        ]
        return read_stream(self.session.client("dynamodbstreams"), arn)


@contextlib.contextmanager
def deploy() -> Iterator[Deployed]:
    """The functions and their resources on moto, as the Pulumi program configures them."""
    with mock_aws():
        session = boto3.Session()
        resources = create_resources(session, SECRETS)
        config = AwsConfig(
            table_name=TABLE,
            topic_arn=resources.topic_arn,
            publish_failures_url=resources.publish_failures_url,
            secrets_path=SECRETS_PATH,
            # What the Pulumi program passes; the oracle signs for the local default, so both
            # platforms verify the same deliveries.
            square_notification_url=square_oracle.NOTIFICATION_URL,
        )
        sessions = {RECEIVER: boto3.Session(), PUBLISHER: boto3.Session()}
        calls = {role: calls_module.record(sessions[role], STACK) for role in sessions}
        clock = Clock()
        yield Deployed(
            session,
            resources,
            sessions,
            receiver.create_handler(
                lambda: build_receiver(config, sessions[RECEIVER], clock=lambda: NOW)
            ),
            publisher.create_handler(
                lambda: build_publisher(config, sessions[PUBLISHER], clock=clock)
            ),
            clock,
        )
        # Every call the code made must be a row of the access matrix for its role.
        for role, made in calls.items():
            assert calls_module.not_in_matrix(made, role, STACK) == []


@contextlib.contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """The receiver's structured log lines (its handler's stream is bound at import time)."""
    handler = observability.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines += [json.loads(line) for line in buffer.getvalue().splitlines()]


def url_event(
    provider: str,
    body: bytes,
    headers: dict[str, str],
    *,
    encoded: bool = False,
    method: str = "POST",
) -> dict[str, Any]:
    event = copy.deepcopy(TEMPLATE)
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/webhooks/{provider}"
    event["requestContext"]["http"]["method"] = method
    event["headers"].update({name.lower(): value for name, value in headers.items()})
    event["body"] = (
        base64.b64encode(body).decode() if encoded else body.decode("utf-8", "surrogateescape")
    )
    event["isBase64Encoded"] = encoded
    return event


# -- receiver --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoded", [False, True], ids=["plain", "base64"])
@pytest.mark.parametrize(
    ("provider", "payload", "amount"),
    [
        ("stripe", stripe_event(amount=1999), Decimal("19.99")),
        ("stripe", stripe_event(amount=1, currency="bhd"), Decimal("0.001")),
        ("generic", generic_body(amount="5000", currency="JPY"), Decimal(5000)),
        (
            "adyen",
            adyen_notification(adyen_item(amount={"currency": "BHD", "value": 1})),
            Decimal("0.001"),
        ),
        ("square", square_event(amount_money={"amount": 500, "currency": "JPY"}), Decimal(500)),
    ],
)
def test_function_url_delivery_is_stored_with_the_exact_amount(
    deployed: Deployed, provider: str, payload: dict[str, Any], amount: Decimal, encoded: bool
) -> None:
    body, headers = signed(provider, encode(payload))
    status, answer = deployed.receive(url_event(provider, body, headers, encoded=encoded))
    assert status == 200
    # Adyen prescribes its own reply; the others get the processor's JSON.
    accepted = answer if isinstance(answer, str) else answer["status"]
    assert accepted == ("[accepted]" if provider == "adyen" else "accepted")
    [item] = deployed.items()
    assert item["amount"] == amount
    assert str(item["amount"]) == str(amount)


def test_base64_body_is_verified_on_the_decoded_bytes(deployed: Deployed) -> None:
    # Bytes that are not what a JSON re-serialisation would produce: odd spacing, escapes.
    body = b'{"transaction_id":"txn_b64",  "amount":"1.00","currency":"EUR","status":"paid","note":"\\u00e9"}'
    body, headers = signed("generic", body)
    assert deployed.receive(url_event("generic", body, headers, encoded=True))[0] == 200


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_the_same_4xx_as_the_local_server_and_stores_nothing(
    deployed: Deployed, case: str
) -> None:
    provider, (body, headers), status, code, detail = BAD_INPUTS[case]
    event = url_event(provider, body, headers, encoded=True)
    got, answer = deployed.receive(event)
    assert got == status, str(answer)[:2000]
    assert len(json.dumps(answer)) <= MAX_ERROR_RESPONSE_BYTES
    assert answer["error"] == code
    assert detail in answer["detail"]
    assert deployed.items() == []


def test_wrong_method_and_unknown_route(deployed: Deployed) -> None:
    assert deployed.receive(url_event("stripe", b"", {}, method="GET"))[0] == 405
    event = url_event("stripe", b"{}", {})
    event["rawPath"] = "/other"
    assert deployed.receive(event) == (
        404,
        {"error": "not_found", "detail": "POST to /webhooks/{provider}"},
    )


def test_duplicate_delivery_is_a_200_duplicate_and_one_item(deployed: Deployed) -> None:
    body, headers = signed("stripe", encode(stripe_event()))
    assert deployed.receive(url_event("stripe", body, headers))[1]["status"] == "accepted"
    assert deployed.receive(url_event("stripe", body, headers)) == (
        200,
        {"status": "duplicate", "event_ids": ["evt_1"]},
    )
    assert len(deployed.items()) == 1


def test_missing_secret_is_a_503_with_a_clear_log_line(deployed: Deployed) -> None:
    deployed.session.client("ssm").delete_parameter(Name=f"{SECRETS_PATH}/stripe")
    body, headers = signed("stripe", encode(stripe_event()))
    with captured_logs() as logged:
        status, answer = deployed.receive(url_event("stripe", body, headers))
    assert (status, answer["error"]) == (503, "secret_unavailable")
    assert SECRETS_PATH not in answer["detail"]  # internals go to the log, not the sender
    [line] = [entry for entry in logged if entry.get("message") == "cannot take webhook now"]
    assert line["level"] == "ERROR"
    assert f"{SECRETS_PATH}/stripe" in line["detail"]
    assert deployed.items() == []


def test_logs_and_metrics_carry_no_secret_or_payload(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = stripe_event(customer="cus_SENSITIVE", metadata={"card_last4": "4242"})
    body, headers = signed("stripe", encode(payload))
    bad_body, bad_headers = signed("stripe", encode(stripe_event(event_id="evt_2", amount=1.5)))
    with captured_logs() as logged:
        deployed.receive(url_event("stripe", body, headers))
        deployed.receive(url_event("stripe", bad_body, bad_headers))
    out = capsys.readouterr().out
    metrics = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    everything = json.dumps(logged) + out
    assert "evt_1" in everything  # the capture works, so the absences below mean something
    for secret_or_payload in (STRIPE_SECRET, "cus_SENSITIVE", "4242", headers["Stripe-Signature"]):
        assert secret_or_payload not in everything
    assert [entry["message"] for entry in logged] == ["webhook accepted", "rejected webhook"]
    accepted, rejected = logged
    assert accepted["correlation_id"] == "evt_1"
    assert "correlation_id" not in rejected  # state is cleared between invocations
    assert rejected["reason"] == "invalid_amount"
    reasons = [m["reason"] for m in metrics if "Rejected" in m]
    assert reasons == ["invalid_amount"]
    assert sum(sum(m.get("Received", [])) for m in metrics) == 2
    assert sum(sum(m.get("Stored", [])) for m in metrics) == 1


# -- direct invocations ----------------------------------------------------------------------


def test_direct_invocation_of_the_generic_payload_is_stored_exactly(deployed: Deployed) -> None:
    payload = json.loads(
        json.dumps(generic_body(amount=19.99, event_id="evt_direct"))
    )  # as Lambda parses it
    assert deployed.invoke(payload) == {
        "status": "accepted",
        "event_ids": ["evt_direct"],
    }
    [item] = deployed.items()
    assert str(item["amount"]) == "19.99"


def test_direct_invocation_without_an_id_dedupes_on_content(deployed: Deployed) -> None:
    payload = generic_body(amount="7.00")
    first = deployed.invoke(dict(payload))
    again = deployed.invoke(dict(reversed(list(payload.items()))))
    assert first["status"] == "accepted"
    assert again == {"status": "duplicate", "event_ids": first["event_ids"]}


def test_direct_body_invocation_and_signed_replay(deployed: Deployed) -> None:
    text = json.dumps(generic_body(transaction_id="txn_body", event_id="evt_body"))
    assert deployed.invoke({"body": text})["status"] == "accepted"
    body, headers = signed("generic", encode(generic_body(transaction_id="txn_replay")))
    replay = {"body": body.decode(), "headers": headers, "provider": "generic"}
    assert deployed.invoke(replay)["status"] == "accepted"
    tampered = {**replay, "body": body.decode().replace("19.99", "1.99")}
    with pytest.raises(SignatureInvalid, match="does not match"):
        deployed.invoke(tampered)
    assert len(deployed.items()) == 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"amount": "1.00", "currency": "USD", "status": "paid"},
            r"body\.transaction_id is missing",
        ),
        (generic_body(event_id=7), r"body\.event_id must be a non-empty string"),
        ({"body": "e30=", "isBase64Encoded": True, "headers": {"x": "1"}}, "missing webhook-id"),
        ({"body": "not base64!", "isBase64Encoded": True}, "isBase64Encoded is true but"),
    ],
)
def test_bad_direct_invocation_raises_so_async_retries_and_dlq_apply(
    deployed: Deployed, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(WebhookError, match=message):
        deployed.invoke(payload)
    assert deployed.items() == []


def test_direct_invocation_keeps_nested_float_metadata_exact(deployed: Deployed) -> None:
    payload = json.loads(json.dumps(generic_body(event_id="evt_n", metadata={"rates": [0.1, 2.5]})))
    assert deployed.invoke(payload)["status"] == "accepted"
    [item] = deployed.items()
    assert json.loads(item["metadata"], parse_float=Decimal)["rates"] == [
        Decimal("0.1"),
        Decimal("2.5"),
    ]


# -- publisher -------------------------------------------------------------------------------


def store_events(deployed: Deployed, count: int) -> None:
    for n in range(count):
        body, headers = signed(
            "stripe", encode(stripe_event(event_id=f"evt_{n}", id=f"pi_{n}", amount=1000 + n))
        )
        assert deployed.receive(url_event("stripe", body, headers))[0] == 200


def test_stream_to_sns_delivers_the_exact_envelope_with_filter_attributes(
    deployed: Deployed,
) -> None:
    store_events(deployed, 1)
    records = deployed.stream_records()
    assert deployed.publish(records) == {"batchItemFailures": []}
    [message] = deployed.messages()
    assert '"amount":10.00,' in message["Body"]
    envelope = json.loads(message["Body"], parse_float=Decimal)
    assert envelope["event_id"] == "evt_0"
    assert envelope["event_type"] == "payment_processed"
    assert envelope["data"]["amount"] == Decimal("10.00")
    assert envelope["transaction"] == {
        "status": "succeeded",
        "previous_status": None,
        "late": False,
        "amount": Decimal("10.00"),
        "refunded": Decimal(0),
        "currency": "USD",
        "version": 1,
        "authorized": Decimal("10.00"),
        "captured": Decimal("10.00"),
        "disputed": Decimal(0),
        "refund_reversed": Decimal(0),
    }
    attributes = {
        name: value["StringValue"] for name, value in message["MessageAttributes"].items()
    }
    assert attributes == {
        "provider": "stripe",
        "event_type": "payment_intent.succeeded",
        "status": "succeeded",
        "currency": "USD",
        "transaction_status": "succeeded",
    }


def test_one_failed_publish_is_reported_alone_and_a_retry_publishes_nothing_twice(
    deployed: Deployed,
) -> None:
    store_events(deployed, 3)
    records = deployed.stream_records()

    sns_is_throttling = [True]

    def throttle_evt_1(params: dict[str, Any], **_: Any) -> None:
        if sns_is_throttling[0] and "evt_1" in str(params["body"]):
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Publish")

    deployed.sessions[PUBLISHER].events.register("before-call.sns.Publish", throttle_evt_1)
    result = deployed.publish(records)
    failed = deployed.announcements()[1]["dynamodb"]["SequenceNumber"]
    assert result == {"batchItemFailures": [{"itemIdentifier": failed}]}
    assert [json.loads(m["Body"])["event_id"] for m in deployed.messages()] == ["evt_0"]

    # SNS recovers; Lambda retries from the reported sequence number onwards.
    sns_is_throttling[0] = False
    retried = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= int(failed)]
    assert deployed.publish(retried) == {"batchItemFailures": []}
    assert sorted(json.loads(m["Body"])["event_id"] for m in deployed.messages()) == [
        "evt_1",
        "evt_2",
    ]


def test_an_unreadable_record_stops_the_batch_there(deployed: Deployed) -> None:
    store_events(deployed, 3)
    records = deployed.announcements()
    del records[1]["dynamodb"]["NewImage"]["last_event"]["M"]["currency"]
    result = deployed.publish(records)
    assert result == {
        "batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]
    }
    assert [json.loads(m["Body"])["event_id"] for m in deployed.messages()] == ["evt_0"]


def test_a_record_stored_before_numbers_were_bounded_is_published(deployed: Deployed) -> None:
    """Metadata ``1e4300`` kept as a 4,301-digit integer once failed its record on every retry."""
    store_events(deployed, 2)
    records = deployed.stream_records()
    # A publication is a transaction item's new version; it carries the event it announces.
    [announcing] = [
        r["dynamodb"]["NewImage"]["last_event"]["M"]
        for r in records
        if r["dynamodb"]["NewImage"].get("last_event", {}).get("M", {}).get("event_id")
        == {"S": "evt_0"}
    ]
    announcing["metadata"] = {"S": '{"x":1' + "0" * 4300 + "}"}
    assert deployed.publish(records) == {"batchItemFailures": []}
    bodies = {
        body["event_id"]: body
        for body in (json.loads(m["Body"], parse_float=Decimal) for m in deployed.messages())
    }
    assert sorted(bodies) == ["evt_0", "evt_1"]
    assert bodies["evt_0"]["data"]["metadata"] == {"x": Decimal("1e4300")}


def test_only_new_versions_of_a_transaction_are_publications(deployed: Deployed) -> None:
    store_events(deployed, 1)
    [event_record, transaction_record] = deployed.stream_records()
    removed = {**transaction_record, "eventName": "REMOVE"}
    assert deployed.publish([event_record, removed]) == {"batchItemFailures": []}
    assert deployed.messages() == []
    assert deployed.publish([transaction_record]) == {"batchItemFailures": []}
    assert len(deployed.messages()) == 1


def test_the_stream_mappings_filter_passes_the_publications_and_nothing_else(
    deployed: Deployed,
) -> None:
    """Lambda's event filter (the pattern the program gives the mapping), as EventBridge
    patterns match, on the records the table really streams: a payment, a refund (its
    movement's item), a reconciliation's journal."""
    store = DynamoDBStore(TABLE, deployed.session.client("dynamodb"))
    refund = make_event(
        "evt_re", status="refunded", event_type="refund.created", movement_id="re_1"
    )
    assert store.insert_all([make_event("evt_paid"), refund]) == [True, True]
    assert store.claim_reconciliation("stripe", "run-1", utc_now())
    records = deployed.stream_records()
    kinds = {record["dynamodb"]["NewImage"].get("kind", {}).get("S") for record in records}
    assert {"event", "transaction", "movement", "reconciliation"} <= kinds
    pattern = EventPattern.load(json.dumps(PUBLICATION_FILTER))
    passed = [record for record in records if pattern.matches_event(as_lambda_sends(record))]
    assert passed == deployed.announcements()
    assert len(passed) == 2
    removed = {**passed[0], "eventName": "REMOVE"}
    assert not pattern.matches_event(as_lambda_sends(removed))
    assert deployed.publish(passed) == {"batchItemFailures": []}
    assert sorted(json.loads(m["Body"])["event_id"] for m in deployed.messages()) == [
        "evt_paid",
        "evt_re",
    ]


# -- secrets ---------------------------------------------------------------------------------


def test_ssm_secret_is_cached_and_a_rotated_secret_is_picked_up_after_the_ttl(
    deployed: Deployed,
) -> None:
    from webhook_processor.aws.secrets import SsmParameters, SsmSecrets

    ssm = deployed.session.client("ssm")
    calls = []
    ssm.meta.events.register("before-call.ssm.GetParameter", lambda **_: calls.append(1))
    secrets = SsmSecrets(SECRETS_PATH, SsmParameters(ssm), ttl_seconds=1)
    assert secrets.active("stripe") == (STRIPE_SECRET,)
    ssm.put_parameter(
        Name=f"{SECRETS_PATH}/stripe",
        Value=f"whsec_rotated, {STRIPE_SECRET}",
        Type="SecureString",
        Overwrite=True,
    )
    assert secrets.active("stripe") == (STRIPE_SECRET,)  # cached
    assert len(calls) == 1
    time.sleep(1.1)  # wait out the 1 s TTL; no timing is asserted
    assert secrets.active("stripe") == ("whsec_rotated", STRIPE_SECRET)
    assert len(calls) == 2


def test_each_function_names_the_settings_it_lacks() -> None:
    with pytest.raises(ValueError, match="TABLE_NAME is not set"):
        build_receiver(AwsConfig())
    with pytest.raises(ValueError, match="TOPIC_ARN, TABLE_NAME, PUBLISH_FAILURES_URL not set"):
        build_publisher(AwsConfig())
    with pytest.raises(ValueError, match=r"^PUBLISH_FAILURES_URL not set"):
        build_publisher(AwsConfig(topic_arn="arn:aws:sns:us-east-1:1:t", table_name="t"))


def test_store_failure_is_a_503_so_the_provider_retries(deployed: Deployed) -> None:
    deployed.session.client("dynamodb").delete_table(TableName=TABLE)
    body, headers = signed("stripe", encode(stripe_event()))
    status, answer = deployed.receive(url_event("stripe", body, headers))
    assert answer == {
        "error": "storage_unavailable",
        "detail": "the processor cannot take this event now; retry later",
    }
    assert status == 503
    store = DynamoDBStore(TABLE, deployed.session.client("dynamodb"))
    with pytest.raises(StorageUnavailable, match="ResourceNotFoundException"):
        store.timeline(None, "pi_1")
    with pytest.raises(StorageUnavailable, match="ResourceNotFoundException"):
        store.get_event("stripe", "evt_1")


def test_sns_refusal_fails_that_event_and_leaves_the_later_ones_unsent(
    deployed: Deployed,
) -> None:
    sink = SnsSink(deployed.topic_arn + "-gone", deployed.session.client("sns"))
    failed = sink.publish_batch([make_event("evt_1"), make_event("evt_2")])
    assert failed.keys() == {"stripe:evt_1", "stripe:evt_2"}
    assert failed["stripe:evt_1"].startswith("SNS publish failed: An error occurred (NotFound)")
    assert failed["stripe:evt_2"] == "not attempted after an earlier event failed"


def test_clients_fail_fast_with_bounded_retries(deployed: Deployed) -> None:
    """A hung AWS call must not eat the function's 60 s: short timeouts, 3 attempts in all."""
    made: list[tuple[str, Any]] = []

    class RecordingSession:
        def client(self, service: str, config: Any) -> Any:
            made.append((service, config))
            return deployed.session.client(service, config=config)  # type: ignore[call-overload]

    session: Any = RecordingSession()
    config = AwsConfig(
        table_name=TABLE,
        topic_arn=deployed.topic_arn,
        publish_failures_url=deployed.resources.publish_failures_url,
        secrets_path=SECRETS_PATH,
    )
    build_receiver(config, session)
    publisher = build_publisher(config, session)
    # The table and the queue are the publisher's for handing off: made when first used.
    assert sorted(service for service, _ in made) == ["dynamodb", "sns", "ssm"]
    assert publisher.publications.get("stripe", "evt_never_stored") is None
    publisher.queue.send(UnreadableRecord("evt#stripe#x", "1", "unreadable", "2026-11-29"))
    assert sorted(service for service, _ in made) == ["dynamodb", "dynamodb", "sns", "sqs", "ssm"]
    for _, config in made:
        assert (config.connect_timeout, config.read_timeout) == (2, 5)
        assert config.retries == {"total_max_attempts": 3, "mode": "standard"}


def test_a_call_no_row_of_the_matrix_allows_the_role_is_caught(deployed: Deployed) -> None:
    """The drift check the fixture runs after every test, shown failing on purpose."""
    session = boto3.Session()
    made = calls_module.record(session, STACK)
    session.client("dynamodb").scan(TableName=TABLE)  # no function may scan the table
    session.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "x#1"}})
    table = STACK.arn("dynamodb", f"table/{TABLE}")
    assert made == [
        calls_module.Call("dynamodb:Scan", table),
        calls_module.Call("dynamodb:PutItem", table),
    ]
    assert calls_module.not_in_matrix(made, RECEIVER, STACK) == [made[0]]
    assert calls_module.not_in_matrix(made, PUBLISHER, STACK) == made  # it only reads the stream
