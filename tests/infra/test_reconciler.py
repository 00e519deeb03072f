"""The reconciler under Pulumi's mocks: made exactly when ``apiKeys`` holds a key, scheduled as
``reconcileIntervalMinutes`` says, its role scoped to what its code calls, its alarms on the
series its handler prints (``tests/integration/test_reconciler_on_aws.py`` holds them to it)."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from tests.infra.conftest import API_KEYS
from tests.infra.harness import Run, arn_of, run_program
from webhook_processor.aws import metrics

FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
PERMISSION = "aws:lambda/permission:Permission"
PARAMETER = "aws:ssm/parameter:Parameter"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SERVICE = {"service": "webhook-processor-test"}
#: What only a reconciler brings: the resource types, and the names the others share with it.
RECONCILER_TYPES = {RULE, TARGET}


def with_keys(keys: dict[str, str] | None = None, **config: str) -> Run:
    return run_program(
        {"apiKeys": json.dumps(API_KEYS if keys is None else keys), **config},
        secret_keys=("apiKeys",),
    )


@pytest.fixture(scope="module")
def keyed() -> Run:
    return with_keys({"stripe": API_KEYS["stripe"]})


def _named(run: Run, typ: str, part: str) -> list[Any]:
    return [r for r in run.of_type(typ) if part in r.name]


def test_without_api_keys_nothing_of_the_reconciler_is_made(bare: Run) -> None:
    assert {r.typ for r in bare.resources} & RECONCILER_TYPES == set()
    assert [r.name for r in bare.resources if "reconcil" in r.name or "api-key" in r.name] == []
    assert "reconciler_function_name" not in bare.exports


def test_a_key_makes_its_secure_string_under_the_stacks_key(keyed: Run) -> None:
    [parameter] = _named(keyed, PARAMETER, "api-key")
    assert parameter.inputs["name"] == "/webhook-processor/test/api-keys/stripe"
    assert parameter.inputs["type"] == "SecureString"
    assert parameter.inputs["keyId"] == arn_of("aws:kms/key:Key", "webhook-key-test")
    # The value reaches the resource as a secret, never in the clear.
    assert parameter.inputs["value"] == {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": API_KEYS["stripe"],
    }


def test_the_reconciler_function_runs_the_artifacts_handler_as_the_others_do(keyed: Run) -> None:
    function = keyed.one(FUNCTION, "webhook-reconciler-")
    receiver = keyed.one(FUNCTION, "webhook-receiver-")
    inputs = function.inputs
    assert inputs["handler"] == "webhook_processor.aws.handlers.reconciler.handler"
    same = ("runtime", "architectures", "tracingConfig", "kmsKeyArn", "memorySize")
    assert {k: inputs.get(k) for k in same} == {k: receiver.inputs.get(k) for k in same}
    assert inputs["code"].path == receiver.inputs["code"].path  # the same artifact
    assert (inputs["runtime"], inputs["architectures"]) == ("python3.13", ["arm64"])
    assert inputs["tracingConfig"] == {"mode": "Active"}
    assert inputs["timeout"] == 14 * 60  # a minute under the default 15-minute interval
    assert inputs["loggingConfig"]["logGroup"] == "/aws/lambda/webhook-reconciler-test"
    variables = inputs["environment"]["variables"]
    assert json.loads(variables["API_KEY_PARAMETERS"]) == {
        "stripe": "/webhook-processor/test/api-keys/stripe"
    }
    assert variables["TABLE_NAME"] == "webhook-events-test"
    assert variables["POWERTOOLS_SERVICE_NAME"] == SERVICE["service"]
    assert "rk_live" not in json.dumps(
        inputs, default=str
    )  # the key is read from SSM, not the environment
    [group] = _named(keyed, "aws:cloudwatch/logGroup:LogGroup", "reconciler")
    assert group.inputs["retentionInDays"] == 30
    [invoke_config] = _named(
        keyed, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "reconciler"
    )
    assert invoke_config.inputs["maximumRetryAttempts"] == 0  # the next run is the retry
    assert keyed.exports["reconciler_function_name"] == "webhook-reconciler-test"


@pytest.mark.parametrize(
    ("minutes", "expression", "timeout"),
    [
        (None, "rate(15 minutes)", 840),
        ("5", "rate(5 minutes)", 240),
        ("60", "rate(60 minutes)", 900),
    ],
)
def test_the_schedule_runs_the_reconciler_every_interval_and_may_invoke_it_alone(
    minutes: str | None, expression: str, timeout: int
) -> None:
    run = with_keys(**({} if minutes is None else {"reconcileIntervalMinutes": minutes}))
    rule = run.one(RULE)
    assert rule.inputs["name"] == "webhook-reconcile-schedule-test"
    assert rule.inputs["scheduleExpression"] == expression
    rule_arn = arn_of(RULE, "webhook-reconcile-schedule-test")
    function = run.one(FUNCTION, "webhook-reconciler-")
    assert function.inputs["timeout"] == timeout
    target = run.one(TARGET)
    assert target.inputs["rule"] == "webhook-reconcile-schedule-test"
    assert target.inputs["arn"] == arn_of(FUNCTION, "webhook-reconciler-test")
    [permission] = _named(run, PERMISSION, "reconciler")
    assert permission.inputs == {
        "function": "webhook-reconciler-test",
        "action": "lambda:InvokeFunction",
        "principal": "events.amazonaws.com",
        "sourceArn": rule_arn,
    }
    assert permission.name in target.depends_on


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"reconcileIntervalMinutes": "2"}, "from 5 to 1440"),
        ({"reconcileIntervalMinutes": "quarter"}, "whole number of minutes"),
        ({"reconcileIntervalMinutes": "2000"}, "(a day)"),
        ({"apiKeys": json.dumps({"adyen": "k"})}, "apiKeys.adyen is no provider with an events"),
        ({"apiKeys": json.dumps({"stripe": ""})}, "apiKeys takes an object of provider to API"),
        ({"apiKeys": json.dumps(["stripe"])}, "apiKeys takes an object of provider to API"),
        (
            {"apiKeys": json.dumps({"stripe": "k"}), "environmentSuffix": "s" * 46},
            "with apiKeys set, at most 45 fit",
        ),
    ],
)
def test_bad_reconciler_settings_fail_the_preview_saying_which(
    config: dict[str, str], message: str
) -> None:
    with pytest.raises(pulumi.RunError, match=re.escape(message)):
        run_program(config, secret_keys=("apiKeys",) if "apiKeys" in config else (), preview=True)


def test_a_46_character_suffix_still_fits_without_a_reconciler() -> None:
    run = run_program({"environmentSuffix": "s" * 46}, preview=True)
    assert run.of_type(RULE) == []


def _statements(run: Run) -> dict[str, dict[str, Any]]:
    role = run.one("aws:iam/role:Role", "webhook-reconciler-")
    [policy] = [
        p
        for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] == f"{role.name}-id"
    ]
    return {s["Sid"]: s for s in policy.json_input("policy")["Statement"]}


def test_the_reconcilers_role_may_do_exactly_what_its_code_does(configured: Run) -> None:
    statements = _statements(configured)
    table = arn_of("aws:dynamodb/table:Table", "webhook-events-prod")
    assert statements["StoresRecoveredEventsAndItsJournal"]["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert statements["StoresRecoveredEventsAndItsJournal"]["Resource"] == [table]
    assert statements["ReadsTheEventsApiKeys"] == {
        "Sid": "ReadsTheEventsApiKeys",
        "Effect": "Allow",
        "Action": ["ssm:GetParameter"],
        "Resource": [
            arn_of(PARAMETER, f"/webhook-processor/prod/api-keys/{provider}")
            for provider in sorted(API_KEYS)
        ],
    }
    assert set(statements) == {
        "ReconcilerWritesItsLogs",
        "TracesToXRay",
        "StoresRecoveredEventsAndItsJournal",
        "ReadsTheEventsApiKeys",
    }
    actions = [a for s in statements.values() for a in s["Action"]]
    assert [a for a in actions if "*" in a] == []
    assert {r for s in statements.values() for r in s["Resource"] if r == "*"} == {"*"}
    assert [s["Sid"] for s in statements.values() if "*" in s["Resource"]] == ["TracesToXRay"]


def test_the_key_policy_lets_the_reconciler_use_the_key_only_through_dynamodb_and_ssm(
    configured: Run,
) -> None:
    policy = configured.one("aws:kms/key:Key").json_input("policy")
    [statement] = [
        s for s in policy["Statement"] if s["Sid"] == "ReconcilerUsesTheKeyThroughItsServices"
    ]
    assert statement["Principal"] == {"AWS": arn_of("aws:iam/role:Role", "webhook-reconciler-prod")}
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:ViaService": ["dynamodb.us-east-1.amazonaws.com", "ssm.us-east-1.amazonaws.com"]
        }
    }


def _alarms(run: Run) -> dict[str, dict[str, Any]]:
    """The configurable alarms (the quiet and endpoint alarms are per provider:
    ``test_quiet_alarms``)."""
    return {
        a.inputs["name"]: a.inputs
        for a in run.of_type(ALARM)
        if not re.match(r"webhook-alarm-(quiet|endpoint)-", a.inputs["name"])
    }


@pytest.mark.parametrize(
    ("alarm", "metric", "says"),
    [
        ("missed-webhooks", metrics.EVENTS_RECOVERED, "reconcile <provider> --since 72h"),
        ("reconcile-failures", metrics.RECONCILE_ERRORS, '\\"reconciliation failed\\"'),
    ],
)
def test_the_reconcilers_alarms_watch_the_totals_its_handler_emits(
    keyed: Run, alarm: str, metric: str, says: str
) -> None:
    found = _alarms(keyed)[f"webhook-alarm-{alarm}-test"]
    assert (found["namespace"], found["metricName"], found["dimensions"], found["statistic"]) == (
        metrics.NAMESPACE,
        metric,
        SERVICE,
        "Sum",
    )
    assert (found["threshold"], found["comparisonOperator"]) == (0, "GreaterThanThreshold")
    assert found["alarmActions"] == [arn_of("aws:sns/topic:Topic", "webhook-alarms-test")]
    assert says.replace("\\", "") in found["alarmDescription"]


def test_the_reconciler_function_has_its_errors_and_throttles_alarms(keyed: Run) -> None:
    from settings import DEFAULT_ALARMS, EDGE_ALARMS  # the program's, loaded by the run

    found = _alarms(keyed)
    assert len(found) == len(DEFAULT_ALARMS) - len(EDGE_ALARMS) == 14
    for metric in ("Errors", "Throttles"):
        alarm = found[f"webhook-alarm-reconciler-{metric.lower()}-test"]
        assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (
            "AWS/Lambda",
            metric,
            {"FunctionName": "webhook-reconciler-test"},
        )


def test_the_missed_webhooks_alarm_takes_its_settings_from_config() -> None:
    run = with_keys(alarms=json.dumps({"missedWebhooks": {"threshold": 5, "periodSeconds": 900}}))
    alarm = _alarms(run)["webhook-alarm-missed-webhooks-test"]
    assert (alarm["threshold"], alarm["period"]) == (5, 900)
