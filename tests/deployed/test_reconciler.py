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
