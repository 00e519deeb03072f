"""The reconciler as deployed (only where ``apiKeys`` is set): its schedule, target and
permission read back through EventBridge's and Lambda's APIs, and, on the emulated deployment,
a scheduled run under its deployed role and environment recovering an event from a fake Stripe
events API into the table."""

from __future__ import annotations

import json
import time

import pytest

from tests.deployed.target import EmulatedStack, Stack
from tests.support.builders import stripe_event
from tests.support.events_api import fake_stripe

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def _reconciler(stack: Stack) -> str:
    name = stack.outputs.get("reconciler_function_name")
    if not name:
        pytest.skip("this stack has no reconciler: apiKeys is not set (docs/deploy.md)")
    return str(name)


def test_the_schedule_runs_the_reconciler_and_only_it_may_invoke_it(stack: Stack) -> None:
    function = _reconciler(stack)
    arn = stack.client("lambda").get_function_configuration(FunctionName=function)["FunctionArn"]
    suffix = function.removeprefix("webhook-reconciler-")
    rule = stack.client("events").describe_rule(Name=f"webhook-reconcile-schedule-{suffix}")
    assert rule["ScheduleExpression"].startswith("rate(")
    assert rule["State"] == "ENABLED"
    targets = stack.client("events").list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert [t["Arn"] for t in targets] == [arn]
    policy = json.loads(stack.client("lambda").get_policy(FunctionName=function)["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]


def test_a_scheduled_run_under_the_deployed_role_recovers_into_the_table(stack: Stack) -> None:
    _reconciler(stack)
    if not isinstance(stack, EmulatedStack):
        pytest.skip(
            "a real stack's reconciler lists the real provider's events API, which this suite "
            "cannot feed: check it with 'webhook-processor aws reconcile stripe --dry-run'"
        )
    with fake_stripe() as stripe:
        # The deployed function runs on the wall clock: an event of a minute ago.
        missed = stripe_event("evt_deployed_missed", id="pi_deployed_missed")
        stripe.events = [missed | {"created": int(time.time()) - 60}]
        answer = stack.reconcile(SCHEDULED, stripe.base)
    [result] = answer["results"]
    assert (result["provider"], result["report"]["recovered"]) == ("stripe", 1)
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["table_name"],
        Key={"pk": {"S": "evt#stripe#evt_deployed_missed"}},
        ConsistentRead=True,
    )["Item"]
    assert item["arrival"] == {"S": "reconciliation"}


def _alarm(stack: Stack, name: str) -> dict[str, object]:
    found = stack.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert found, f"no alarm {name}"
    return dict(found[0])


def test_each_provider_with_a_secret_has_its_quiet_alarm_missing_data_breaching(
    stack: Stack,
) -> None:
    suffix = stack.outputs["receiver_function_name"].removeprefix("webhook-receiver-")
    for provider in ("stripe", "generic"):  # the providers the stack has secrets for
        alarm = _alarm(stack, f"webhook-alarm-quiet-{provider}-{suffix}")
        assert alarm["ComparisonOperator"] == "LessThanLowerThreshold"
        assert alarm["TreatMissingData"] == "breaching"
        assert alarm["ThresholdMetricId"] == "band"
        queries = {q["Id"]: q for q in alarm["Metrics"]}  # type: ignore[attr-defined]
        assert queries["band"]["Expression"] == "ANOMALY_DETECTION_BAND(deliveries, 3)"
        dimensions = queries["deliveries"]["MetricStat"]["Metric"]["Dimensions"]
        assert {d["Name"]: d["Value"] for d in dimensions}["provider"] == provider
    none = stack.client("cloudwatch").describe_alarms(
        AlarmNames=[f"webhook-alarm-quiet-adyen-{suffix}"]
    )["MetricAlarms"]
    assert none == []  # no secret, no alarm


def test_a_disabled_endpoint_is_the_endpoint_alarms_series_from_the_deployed_reconciler(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    function = _reconciler(stack)
    if not isinstance(stack, EmulatedStack):
        pytest.skip(
            "a real stack's reconciler asks the real provider, which this suite cannot set up: "
            "watch the webhook-alarm-endpoint-<provider> alarm instead"
        )
    suffix = function.removeprefix("webhook-reconciler-")
    alarm = _alarm(stack, f"webhook-alarm-endpoint-stripe-{suffix}")
    assert alarm["TreatMissingData"] == "notBreaching"
    with fake_stripe() as stripe:
        stripe.endpoints = [
            {"id": "we_1", "url": "https://x.example/webhooks/stripe", "status": "disabled"}
        ]
        capsys.readouterr()
        stack.reconcile(SCHEDULED, stripe.base)
    printed = capsys.readouterr().out
    watched = (
        alarm["Namespace"],
        alarm["MetricName"],
        {d["Name"]: d["Value"] for d in alarm["Dimensions"]},  # type: ignore[attr-defined]
    )
    emitted = []
    for line in printed.splitlines():
        if line.startswith('{"_aws"'):
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    dims = {name: blob[name] for name in directive["Dimensions"][0]}
                    emitted.append(
                        ((directive["Namespace"], metric["Name"], dims), blob[metric["Name"]])
                    )
    # In-process, Powertools names the service from this process's environment, not the
    # function's (tests/integration/test_operate.py holds the service dimension to the stack's).
    found = [
        value
        for (namespace, metric, dims), value in emitted
        if (namespace, metric, set(dims), dims.get("provider"))
        == (watched[0], watched[1], set(watched[2]), watched[2]["provider"])
    ]
    assert found in ([1.0], [[1.0]])
