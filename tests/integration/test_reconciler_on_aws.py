"""The reconciler function on moto, against a fake Stripe events API on loopback: a scheduled run
recovers a webhook that never arrived into the table, the stream publishes it as any stored
event, a second run recovers nothing, the webhook arriving late is a duplicate, the high-water
mark is in the table, the counts are in the EMF the alarms watch, and every AWS call the code
makes is a row of the access matrix for the reconciler's role."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.infra.conftest import API_KEYS
from tests.infra.harness import run_program
from tests.infra.matrix import RECONCILER, Stack
from tests.integration.test_lambda import Context, Deployed, deploy, url_event
from tests.integration.test_operate import emitted_series
from tests.support import calls as calls_module
from tests.support.aws import TABLE
from tests.support.builders import NOW, encode, signed, stripe_event
from tests.support.events_api import FakeStripe, fake_stripe
from webhook_processor.aws import metrics
from webhook_processor.aws.bootstrap import AwsConfig, build_reconciler
from webhook_processor.aws.handlers import reconciler
from webhook_processor.aws.handlers.observability import Handler
from webhook_processor.aws.items import reconciliation_key
from webhook_processor.storage.records import iso

STACK = Stack.named("test")
KEY_PARAMETER = "/webhook-processor/test/api-keys/stripe"
SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-28T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/webhook-reconcile-schedule-test"],
    "detail": {},
}


@dataclass
class Reconciling:
    deployed: Deployed
    stripe: FakeStripe
    handler: Handler
    #: Every AWS call the reconciler's code made.
    calls: list[calls_module.Call]

    def run(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.handler(event or SCHEDULED, Context(function_name="webhook-reconciler-test"))


@contextlib.contextmanager
def reconciling() -> Iterator[Reconciling]:
    """The deployed functions on moto, the Stripe key in its SecureString, and the reconciler's
    handler built by the real builder with its own recorded session."""
    with deploy() as deployed, fake_stripe() as stripe:
        deployed.session.client("ssm").put_parameter(
            Name=KEY_PARAMETER, Value=stripe.key, Type="SecureString"
        )
        session = boto3.Session()
        calls = calls_module.record(session, STACK)
        config = AwsConfig(
            table_name=TABLE,
            api_key_parameters=json.dumps({"stripe": KEY_PARAMETER}),
            api_bases={"stripe": stripe.base},
        )
        handler = reconciler.create_handler(
            lambda: build_reconciler(config, session, clock=lambda: NOW)
        )
        yield Reconciling(deployed, stripe, handler, calls)
        assert calls_module.not_in_matrix(calls, RECONCILER, STACK) == []


@pytest.fixture
def setup() -> Iterator[Reconciling]:
    with reconciling() as built:
        yield built


def test_a_missed_webhook_is_recovered_published_once_and_its_late_delivery_is_a_duplicate(
    setup: Reconciling, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed = setup.deployed
    setup.stripe.events = [stripe_event("evt_missed", id="pi_missed", amount=4200)]
    capsys.readouterr()
    [result] = setup.run()["results"]
    assert (result["provider"], result["report"]["recovered"]) == ("stripe", 1)
    [item] = [i for i in deployed.items() if i["event_id"] == "evt_missed"]
    assert item["arrival"] == "reconciliation"
    # The EMF line carries the count, in the series the missed-webhooks alarm watches.
    emitted = emitted_series(capsys.readouterr().out)
    assert (
        metrics.NAMESPACE,
        metrics.EVENTS_RECOVERED,
        (("service", "webhook-processor-test"),),
    ) in emitted
    # The stream publishes it (the journal's own records are no publication).
    assert deployed.publish(deployed.stream_records()) == {"batchItemFailures": []}
    [message] = deployed.messages()
    body = json.loads(message["Body"])
    assert (body["event_id"], body["data"]["arrival"], body["data"]["amount"]) == (
        "evt_missed",
        "reconciliation",
        42,
    )
    # A second run finds it stored.
    [again] = setup.run()["results"]
    assert (again["report"]["recovered"], again["report"]["already_stored"]) == (0, 1)
    # The webhook arrives after all: a duplicate, and nothing more is published.
    late, headers = signed("stripe", encode(setup.stripe.events[0]))
    assert deployed.receive(url_event("stripe", late, headers)) == (
        200,
        {"status": "duplicate", "event_ids": ["evt_missed"]},
    )
    assert [i["event_id"] for i in deployed.items()] == ["evt_missed"]
    deployed.messages()
    assert deployed.publish(deployed.stream_records()) == {"batchItemFailures": []}
    assert len(deployed.messages()) == 1  # the stream's first record again, not a new event


def test_the_high_water_mark_and_the_last_runs_counts_are_in_the_table(
    setup: Reconciling,
) -> None:
    setup.stripe.events = [stripe_event("evt_a", id="pi_a"), stripe_event("evt_b", id="pi_b")]
    setup.run()
    item = setup.deployed.session.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": reconciliation_key("stripe")}}, ConsistentRead=True
    )["Item"]
    assert item["kind"] == {"S": "reconciliation"}
    assert item["reconciled_until"] == {"S": iso(NOW)}
    assert (item["last_listed"], item["last_recovered"]) == ({"N": "2"}, {"N": "2"})
    assert "claimed_by" not in item  # released
    # The next scheduled run starts from the mark (less the overlap), not 72 hours back.
    setup.stripe.requests.clear()
    setup.run()
    # (A scheduled run then asks about the webhook endpoints: test_reconciler_handler.)
    [(path, _)] = [r for r in setup.stripe.requests if r[0].startswith("/v1/events")]
    assert f"created%5Bgte%5D={int(NOW.timestamp()) - 600}" in path


def test_an_api_failure_is_counted_and_leaves_the_mark_for_the_next_run(
    setup: Reconciling, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.stripe.failing = True
    capsys.readouterr()
    answer = setup.run()
    assert answer["failed"] == 1
    assert answer["results"][0]["code"] == "provider_api_error"
    emitted = emitted_series(capsys.readouterr().out)
    assert (
        metrics.NAMESPACE,
        metrics.RECONCILE_ERRORS,
        (("service", "webhook-processor-test"),),
    ) in emitted
    item = (
        setup.deployed.session.client("dynamodb")
        .get_item(
            TableName=TABLE, Key={"pk": {"S": reconciliation_key("stripe")}}, ConsistentRead=True
        )
        .get("Item", {})
    )
    assert "reconciled_until" not in item
    assert "claimed_by" not in item


def test_every_reconciler_alarm_on_its_counts_watches_a_series_the_handler_prints(
    setup: Reconciling, capsys: pytest.CaptureFixture[str]
) -> None:
    """The program's alarms for a stack named "test" with apiKeys, against what the handler
    prints under the environment the program gives the reconciler."""
    run = run_program({"apiKeys": json.dumps(API_KEYS)}, secret_keys=("apiKeys",))
    function = run.one("aws:lambda/function:Function", "webhook-reconciler-")
    service = function.inputs["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"]
    watching = {
        (
            a.inputs["namespace"],
            a.inputs["metricName"],
            tuple(sorted(a.inputs["dimensions"].items())),
        )
        for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["metricName"] in {metrics.EVENTS_RECOVERED, metrics.RECONCILE_ERRORS}
    }
    assert len(watching) == 2
    assert {dims for _, _, dims in watching} == {(("service", service),)}
    setup.stripe.events = [stripe_event("evt_x", id="pi_x")]
    capsys.readouterr()
    setup.run()
    setup.stripe.failing = True
    setup.run()
    assert watching - emitted_series(capsys.readouterr().out) == set()
