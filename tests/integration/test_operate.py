"""Operating the stack on moto: what the publisher hands off is redriven from the table after the
stream has forgotten it, exactly once; failed direct invocations are redriven and stored once;
a poison message stays with its error; the alarms watch what the handlers really emit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.infra.harness import ACCOUNT, REGION, run_program
from tests.infra.matrix import PUBLISHER, Stack
from tests.integration.test_lambda import Deployed, deploy, store_events, url_event
from tests.support.aws import SECRETS_PATH, TABLE
from tests.support.builders import encode, generic_body, make_event, signed, stripe_event
from tests.support.operating import Operator, operate
from tests.support.stream_mapping import StreamMapping
from webhook_processor.aws import handoff, metrics
from webhook_processor.aws.handlers import observability
from webhook_processor.aws.items import deserialize, published_event
from webhook_processor.errors import InvalidPayload, StorageUnavailable
from webhook_processor.publishing import envelope
from webhook_processor.rows import event_row, transaction_row
from webhook_processor.transactions import apply

STACK = Stack.named("test")
HANDOFF = timedelta(seconds=301)  # past the publisher's default 300 s


@pytest.fixture
def deployed() -> Iterator[Deployed]:
    with deploy() as deployment:
        yield deployment


@pytest.fixture
def operator(
    deployed: Deployed,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Operator]:
    yield from operate(deployed, tmp_path, capsys, monkeypatch, STACK)


def refuse_publications(deployed: Deployed, event_ids: set[str]) -> set[str]:
    """SNS refuses the events named in the returned set, until it is emptied."""

    def throttle(params: dict[str, Any], **_: Any) -> None:
        if any(f'"event_id":"{event_id}"' in str(params["body"]) for event_id in event_ids):
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Publish")

    deployed.sessions[PUBLISHER].events.register("before-call.sns.Publish", throttle)
    return event_ids


def the_stream_forgets(deployed: Deployed) -> None:
    """What 24 hours do to the stream: its records are trimmed (moto keeps them forever)."""
    from moto.dynamodb.models import dynamodb_backends

    dynamodb_backends[ACCOUNT][REGION].get_table(TABLE).stream_shard.items.clear()
    assert deployed.stream_records() == []


def published_ids(deployed: Deployed) -> list[str]:
    return sorted(json.loads(m["Body"])["event_id"] for m in deployed.messages())


def from_sequence(records: list[dict[str, Any]], sequence: str) -> list[dict[str, Any]]:
    """What Lambda retries: the shard from ``sequence`` on."""
    return [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= int(sequence)]


# -- the publisher's failures ----------------------------------------------------------------


def test_a_publication_refused_past_the_handoff_is_redriven_from_the_table_once_after_the_stream_forgot_it(
    deployed: Deployed, operator: Operator
) -> None:
    store_events(deployed, 3)
    records = deployed.stream_records()
    # What the stream announces, as the publisher would publish it.
    announced = [
        published_event(deserialize(r["dynamodb"]["NewImage"])) for r in deployed.announcements()
    ]
    envelopes = {e.event_id: envelope.encode(e).decode() for e in announced if e is not None}
    refused = refuse_publications(deployed, {"evt_1"})

    # Young: retried in place, in order; evt_2 waits behind evt_1.
    first = deployed.publish(records)
    [failed] = first["batchItemFailures"]
    assert published_ids(deployed) == ["evt_0"]
    assert deployed.publish(from_sequence(records, failed["itemIdentifier"])) == first
    # Past the bound: evt_1 is handed off, and evt_2 after it (the topic refused this batch).
    deployed.publisher_clock.ahead = HANDOFF
    assert deployed.publish(from_sequence(records, failed["itemIdentifier"])) == {
        "batchItemFailures": []
    }
    assert published_ids(deployed) == []
    # The topic recovers, and Lambda retries that batch once more (its invocation timed out
    # after handing off): the stream publishes neither again, it queues their keys again.
    refused.clear()
    assert deployed.publish(from_sequence(records, failed["itemIdentifier"])) == {
        "batchItemFailures": []
    }
    assert published_ids(deployed) == []
    queued = [
        handoff.decode(b) for b in operator.queue_bodies(deployed.resources.publish_failures_url)
    ]
    assert sorted(m.event_id for m in queued if isinstance(m, handoff.HandOff)) == [
        "evt_1",
        "evt_1",
        "evt_2",
        "evt_2",
    ]
    # A day later the stream no longer has the records; the redrive never reads it.
    the_stream_forgets(deployed)

    rows = operator.rows("dead-letters", "--queue", "publisher")
    assert {(r["kind"], r["provider"], r["event_id"], r["amount"]) for r in rows} == {
        ("handed_off", "stripe", "evt_1", 10.01),
        ("handed_off", "stripe", "evt_2", 10.02),
    }
    assert {r["error"] for r in rows} >= {
        "SNS publish failed: An error occurred (Throttling) when calling the Publish operation: "
        "slow down"
    }
    code, out, _ = operator.run("redrive", "--dry-run")
    assert code == 0
    assert out.count("would redrive publisher handed_off stripe:evt_1") == 2
    assert out.splitlines()[-1] == "would redrive 4, kept 0"
    assert len(operator.queue_bodies(deployed.resources.publish_failures_url)) == 4

    code, out, _ = operator.run("redrive")
    assert code == 0
    assert out.count(": published\n") == 2
    assert out.count("already published by an earlier redrive") == 2
    assert operator.queue_bodies(deployed.resources.publish_failures_url) == []
    messages = {json.loads(m["Body"])["event_id"]: m["Body"] for m in deployed.messages()}
    assert sorted(messages) == ["evt_1", "evt_2"]  # once each, evt_0 went out before
    # The same bytes the stream would have published: the envelope rebuilt from the table.
    assert messages == {key: envelopes[key] for key in ("evt_1", "evt_2")}
    assert not [c for c in operator.calls if c.action.startswith("dynamodb:GetRecords")]
    # And a redrive run again finds nothing to do.
    assert operator.run("redrive")[1] == "redrove 0, kept 0\n"


def test_a_poison_message_stays_with_its_error_and_the_rest_go(
    deployed: Deployed, operator: Operator
) -> None:
    store_events(deployed, 1)
    refuse_publications(deployed, {"evt_0"})
    deployed.publisher_clock.ahead = HANDOFF
    assert deployed.publish(deployed.stream_records()) == {"batchItemFailures": []}
    refuse_publications(deployed, set()).clear()
    deployed.sessions[PUBLISHER].events.unregister("before-call.sns.Publish")
    sqs = deployed.session.client("sqs")
    url = deployed.resources.publish_failures_url
    sqs.send_message(QueueUrl=url, MessageBody="not json at all")
    gone = handoff.HandOff("stripe", "evt_gone", "pi_x", 1, "USD", 1, "refused", "2026")
    sqs.send_message(QueueUrl=url, MessageBody=handoff.encode(gone))

    code, out, _ = operator.run("redrive", "--queue", "publisher")
    assert code == 1
    assert "redrove publisher handed_off stripe:evt_0: published" in out
    assert "kept publisher unreadable -:-: not a message this processor writes" in out
    assert "kept publisher handed_off stripe:evt_gone: no stored event stripe:evt_gone" in out
    assert out.splitlines()[-1] == "redrove 1, kept 2"
    assert published_ids(deployed) == ["evt_0"]
    rows = operator.rows("dead-letters")
    assert {(r["kind"], r["event_id"]) for r in rows} == {
        ("unreadable", None),
        ("handed_off", "evt_gone"),
    }
    assert any(r["error"].startswith("body is not valid JSON") for r in rows)


def _program_mapping() -> dict[str, Any]:
    """The stream mapping as the Pulumi program configures it (under Pulumi's mocks)."""
    run = run_program({"environmentSuffix": "test"}, (), stack="test")
    return run.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs


def _mapping(deployed: Deployed, crash_on: str, sent: list[str]) -> StreamMapping:
    """The program's mapping over the deployed stream; the publisher crashes (an exception out
    of the handler: out of memory, a bug) on any batch announcing ``crash_on``."""
    inputs = _program_mapping()
    streams = deployed.session.client("dynamodbstreams")
    arn = deployed.session.client("dynamodb").describe_table(TableName=TABLE)["Table"][
        "LatestStreamArn"
    ]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]

    def publisher(batch: list[dict[str, Any]]) -> dict[str, Any]:
        announced = [
            published_event(deserialize(r["dynamodb"]["NewImage"]))
            for r in batch
            if "NewImage" in r["dynamodb"]
        ]
        if any(e is not None and e.event_id == crash_on for e in announced):
            raise MemoryError("the publisher ran out of memory")
        return deployed.publish(batch)

    def on_failure(record: dict[str, Any]) -> None:
        body = json.dumps(record)
        deployed.session.client("sqs").send_message(
            QueueUrl=deployed.resources.publish_failures_url, MessageBody=body
        )
        sent.append(body)

    return StreamMapping(
        publisher,
        on_failure,
        stream_arn=arn,
        shard_id=shard["ShardId"],
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:webhook-publisher-test",
        batch_size=int(inputs["batchSize"]),
        max_retries=int(inputs["maximumRetryAttempts"]),
        bisect=bool(inputs["bisectBatchOnFunctionError"]),
    )


def test_the_program_retries_a_failing_batch_a_few_times_and_keeps_what_it_discards() -> None:
    inputs = _program_mapping()
    assert 1 <= int(inputs["maximumRetryAttempts"]) <= 5
    assert inputs["bisectBatchOnFunctionError"] is True
    assert inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert inputs["destinationConfig"]["onFailure"]["destinationArn"].endswith(
        "webhook-publish-failures-test"
    )


def test_a_record_that_crashes_the_publisher_is_retried_a_few_times_and_redriven_from_the_table(
    deployed: Deployed, operator: Operator
) -> None:
    store_events(deployed, 5)
    sent: list[str] = []
    mapping = _mapping(deployed, "evt_2", sent)
    discarded = mapping.run(deployed.stream_records())

    # The shard was not held: every event but the crashing one's went out meanwhile.
    assert published_ids(deployed) == ["evt_0", "evt_1", "evt_3", "evt_4"]
    # Bisection isolated the record; it was then tried 1 + maximumRetryAttempts times only.
    [record] = discarded
    batch = record["DDBStreamBatchInfo"]
    poison = batch["startSequenceNumber"]
    assert batch["batchSize"] == 1
    assert batch["endSequenceNumber"] == poison
    tries = [i for i in mapping.invocations if i == [poison]]
    assert len(tries) == 1 + mapping.max_retries <= 6
    assert len(mapping.invocations) < 20

    rows = operator.rows("dead-letters", "--queue", "publisher")
    assert [(r["kind"], r["event_id"]) for r in rows] == [
        ("stream_batch", f"{batch['shardId']} {poison}..{poison}"[:200])
    ]
    # One run: the batch becomes a hand-off of evt_2 (the 14-day queue holds it, whatever the
    # stream forgets), which the same run publishes from the table.
    code, out, _ = operator.run("redrive", "--queue", "publisher")
    assert code == 0, out
    assert "handed off 1 of the 1 events the batch announced" in out
    assert "redrove publisher handed_off stripe:evt_2: published" in out
    assert published_ids(deployed) == ["evt_2"]
    assert operator.queue_bodies(deployed.resources.publish_failures_url) == []
    # Exactly once from the table: a second message for the same batch publishes nothing.
    deployed.session.client("sqs").send_message(
        QueueUrl=deployed.resources.publish_failures_url, MessageBody=sent[0]
    )
    code, out, _ = operator.run("redrive", "--queue", "publisher")
    assert (code, published_ids(deployed)) == (0, [])
    assert "handed off 0 of the 1 events the batch announced" in out


def test_a_discarded_batch_the_stream_has_forgotten_stays_with_what_to_do(
    deployed: Deployed, operator: Operator
) -> None:
    store_events(deployed, 2)
    [_] = _mapping(deployed, "evt_1", []).run(deployed.stream_records())
    the_stream_forgets(deployed)
    code, out, _ = operator.run("redrive", "--queue", "publisher")
    assert code == 1
    assert "the stream no longer holds this batch" in out
    assert "kept for a person" in out
    assert len(operator.queue_bodies(deployed.resources.publish_failures_url)) == 1


# -- the receiver's dead letters -------------------------------------------------------------


def test_a_failed_direct_invocation_is_redriven_and_stored_once(
    deployed: Deployed, operator: Operator
) -> None:
    payload = json.loads(json.dumps(generic_body(amount=42.5, event_id="evt_direct")))

    table_down = [True]

    def refuse(**_: Any) -> None:
        if table_down:
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "try again"}},
                "TransactWriteItems",
            )

    deployed.sessions["receiver"].events.register("before-call.dynamodb.TransactWriteItems", refuse)
    with pytest.raises(StorageUnavailable) as failure:
        deployed.invoke(dict(payload))
    table_down.clear()
    # Lambda's async retries all failed the same way: the payload lands in the queue (twice:
    # the queue delivers at least once), and beside it one the receiver can never take.
    operator.dead_letter(payload, failure.value)
    operator.dead_letter(payload, failure.value)
    poison = {"amount": "1.00", "currency": "USD", "status": "paid"}
    operator.dead_letter(poison, InvalidPayload("body.transaction_id is missing"))

    rows = operator.rows("dead-letters", "--queue", "receiver")
    assert sorted(
        (r["provider"], str(r["event_id"]), r["amount"], r["currency"]) for r in rows
    ) == [
        ("generic", "None", 1.0, "USD"),
        ("generic", "evt_direct", 42.5, "USD"),
        ("generic", "evt_direct", 42.5, "USD"),
    ]
    assert {r["error"] for r in rows} == {
        "DynamoDB transaction write failed: InternalServerError: try again",
        "body.transaction_id is missing",
    }
    code, out, _ = operator.run("redrive", "--queue", "receiver")
    assert code == 1
    assert "redrove receiver invocation generic:evt_direct: accepted evt_direct" in out
    assert "redrove receiver invocation generic:evt_direct: duplicate evt_direct" in out
    assert "the receiver refused it again: body.transaction_id is missing" in out
    [item] = deployed.items()
    assert (item["event_id"], str(item["amount"])) == ("evt_direct", "42.50")
    [left] = operator.rows("dead-letters")
    assert left["error"] == "body.transaction_id is missing"


# -- inspection --------------------------------------------------------------------------------


def test_events_and_transactions_print_the_local_commands_columns(
    deployed: Deployed, operator: Operator
) -> None:
    store_events(deployed, 1)
    for message_id, status, amount in (
        ("msg_a", "completed", "10.00"),
        ("msg_b", "refunded", "4.00"),
    ):
        body = encode(generic_body(transaction_id="txn_t", status=status, amount=amount))
        body, headers = signed("generic", body, message_id=message_id)
        assert deployed.receive(url_event("generic", body, headers))[0] == 200
    local = make_event("evt_local")
    events = operator.rows("events")
    # All received at the suite's one instant: newest first ties, broken by key.
    assert [e["key"] for e in events] == ["stripe:evt_0", "generic:msg_b", "generic:msg_a"]
    assert list(events[0]) == list(event_row(local, "pending", 0, None))
    assert {(e["delivery"], e["attempts"]) for e in events} == {("stream", None)}
    timeline = operator.rows("events", "--transaction", "txn_t", "--limit", "5")
    assert [e["key"] for e in timeline] == ["generic:msg_a", "generic:msg_b"]
    assert len(operator.rows("transactions", "--limit", "1")) == 1
    transactions = {t["transaction_id"]: t for t in operator.rows("transactions")}
    assert sorted(transactions) == ["pi_0", "txn_t"]
    assert list(transactions["txn_t"]) == list(transaction_row(apply(None, local).after))
    assert (transactions["txn_t"]["events"], transactions["txn_t"]["status"]) == (
        2,
        "partially_refunded",
    )
    code, out, _ = operator.run("transactions")
    assert (code, out.split()[:3]) == (0, ["transaction_id", "provider", "status"])
    code, out, _ = operator.run("transaction", "txn_t", "--json")
    answer = json.loads(out)
    assert code == 0
    assert answer["transaction"]["status"] == "partially_refunded"
    assert [(row["event_id"], row["before"], row["after"]) for row in answer["timeline"]] == [
        ("msg_a", None, "succeeded"),
        ("msg_b", "succeeded", "partially_refunded"),
    ]


# -- the alarms watch what the handlers emit ----------------------------------------------------


def emitted_series(printed: str) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Every (namespace, metric, dimensions) the EMF lines in ``printed`` declare."""
    series = set()
    for line in printed.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    values = tuple(sorted((name, blob[name]) for name in dimensions))
                    series.add((directive["Namespace"], metric["Name"], values))
    return series


def test_every_alarm_on_the_functions_counts_watches_a_series_the_handlers_print(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    """The program's alarms for a stack named "test", against what the handlers print under
    the environment the program gives such a stack's functions."""
    run = run_program({})
    watching = {
        (
            a.inputs["namespace"],
            a.inputs["metricName"],
            tuple(sorted(a.inputs["dimensions"].items())),
        )
        for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["namespace"] == metrics.NAMESPACE
    }
    assert len(watching) == 3
    publisher = run.one("aws:lambda/function:Function", "webhook-publisher-")
    service = publisher.inputs["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"]
    assert observability.metrics.service == service  # the handlers here run as deployed
    store_events(deployed, 1)
    capsys.readouterr()
    # A forged delivery (401), and one the receiver cannot take for a missing secret (503).
    body, headers = signed("stripe", encode(stripe_event(event_id="evt_x")), secret="whsec_forged")
    assert deployed.receive(url_event("stripe", body, headers))[0] == 401
    deployed.session.client("ssm").delete_parameter(Name=f"{SECRETS_PATH}/generic")
    body, headers = signed("generic", encode(generic_body()))
    assert deployed.receive(url_event("generic", body, headers))[0] == 503
    # A publication the topic refuses, handed off.
    refuse_publications(deployed, {"evt_0"})
    deployed.publisher_clock.ahead = HANDOFF
    assert deployed.publish(deployed.stream_records()) == {"batchItemFailures": []}
    emitted = emitted_series(capsys.readouterr().out)
    assert watching - emitted == set()
    assert (metrics.NAMESPACE, metrics.HANDED_OFF, (("service", service),)) in emitted


def test_each_quiet_alarm_watches_the_series_the_receiver_prints_for_its_provider(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.infra.conftest import SECRETS

    run = run_program(SECRETS, secret_keys=tuple(SECRETS))
    watching = {
        a.inputs["name"]: (
            query["metric"]["namespace"],
            query["metric"]["metricName"],
            tuple(sorted(query["metric"]["dimensions"].items())),
        )
        for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        for query in a.inputs.get("metricQueries", [])
        if "metric" in query
    }
    assert "webhook-alarm-quiet-stripe-test" in watching
    capsys.readouterr()
    body, headers = signed("stripe", encode(stripe_event(event_id="evt_quiet")))
    assert deployed.receive(url_event("stripe", body, headers))[0] == 200
    forged, headers = signed("stripe", encode(stripe_event(event_id="evt_f")), secret="whsec_x")
    assert deployed.receive(url_event("stripe", forged, headers))[0] == 401
    emitted = emitted_series(capsys.readouterr().out)
    assert watching["webhook-alarm-quiet-stripe-test"] in emitted
    deliveries = [s for s in emitted if s[1] == metrics.DELIVERIES]
    assert deliveries == [watching["webhook-alarm-quiet-stripe-test"]]  # the 401 is not one
