"""The policy suite over ALL recorded resources, and proof that each rule can fail."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.harness import Recorded, Run, arn_of
from tests.infra.policy import ENCRYPTION_KEY_INPUT, RULES, Context, is_taggable, violations

KEY = {
    "test": arn_of("aws:kms/key:Key", "webhook-key-test"),
    "prod": arn_of("aws:kms/key:Key", "webhook-key-prod"),
}
#: Every kind of resource a rule judges by more than its tags and name.
JUDGED_KINDS = {
    *ENCRYPTION_KEY_INPUT,
    "aws:iam/rolePolicy:RolePolicy",
    "aws:kms/key:Key",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
}


@pytest.mark.parametrize(
    ("run_name", "suffix", "absent"),
    [
        # No secrets configured: no parameters.
        pytest.param("bare", "test", {"aws:ssm/parameter:Parameter"}, id="bare"),
        pytest.param("configured", "prod", set(), id="configured"),
    ],
)
def test_every_recorded_resource_passes_every_rule(
    run_name: str, suffix: str, absent: set[str], request: pytest.FixtureRequest
) -> None:
    run: Run = request.getfixturevalue(run_name)
    assert JUDGED_KINDS - {r.typ for r in run.resources} == absent
    assert violations(run.resources, Context(suffix, KEY[suffix])) == []


def test_the_rules_see_every_kind_of_resource(bare: Run) -> None:
    kinds = {r.typ for r in bare.resources}
    assert {t for t in kinds if is_taggable(t)} >= {
        "aws:dynamodb/table:Table",
        "aws:lambda/function:Function",
        "aws:kms/key:Key",
        "aws:sqs/queue:Queue",
        "aws:sns/topic:Topic",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
    }
    assert not is_taggable("aws:iam/rolePolicy:RolePolicy")


def _mutated(
    run: Run, typ: str, change: Callable[[dict[str, Any]], None], name_part: str = ""
) -> Recorded:
    original = run.one(typ, name_part)
    bad = Recorded(original.typ, original.name, copy.deepcopy(original.inputs))
    change(bad.inputs)
    return bad


def _policy(statements: list[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        document["Statement"] = statements
        inputs["policy"] = json.dumps(document)

    return change


BAD_RESOURCES: dict[str, tuple[str, str, str, Callable[[dict[str, Any]], None]]] = {
    # case: (rule, type, name part, change that breaks it)
    "untagged table": ("tagged", "aws:dynamodb/table:Table", "", lambda i: i["tags"].pop("Owner")),
    "function without tags": (
        "tagged",
        "aws:lambda/function:Function",
        "receiver",
        lambda i: i.pop("tags"),
    ),
    "wrong Environment tag": (
        "tagged",
        "aws:sqs/queue:Queue",
        "",
        lambda i: i["tags"].update(Environment="prod"),
    ),
    "table with AWS-owned key": (
        "encrypted_with_the_cmk",
        "aws:dynamodb/table:Table",
        "",
        lambda i: i.update(serverSideEncryption={"enabled": True}),
    ),
    "table encryption disabled": (
        "encrypted_with_the_cmk",
        "aws:dynamodb/table:Table",
        "",
        lambda i: i["serverSideEncryption"].update(enabled=False),
    ),
    "topic without CMK": (
        "encrypted_with_the_cmk",
        "aws:sns/topic:Topic",
        "events",
        lambda i: i.pop("kmsMasterKeyId"),
    ),
    "queue with SQS-managed SSE": (
        "encrypted_with_the_cmk",
        "aws:sqs/queue:Queue",
        "",
        lambda i: i.update(kmsMasterKeyId="alias/aws/sqs"),
    ),
    "log group unencrypted": (
        "encrypted_with_the_cmk",
        "aws:cloudwatch/logGroup:LogGroup",
        "receiver",
        lambda i: i.pop("kmsKeyId"),
    ),
    "wildcard action": (
        "least_privilege",
        "aws:iam/rolePolicy:RolePolicy",
        "receiver",
        _policy(
            [
                {
                    "Sid": "All",
                    "Effect": "Allow",
                    "Action": "dynamodb:*",
                    "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/x",
                }
            ]
        ),
    ),
    "star action": (
        "least_privilege",
        "aws:iam/rolePolicy:RolePolicy",
        "publisher",
        _policy(
            [
                {
                    "Sid": "All",
                    "Effect": "Allow",
                    "Action": ["*"],
                    "Resource": ["arn:aws:sns:us-east-1:123456789012:t"],
                }
            ]
        ),
    ),
    "unscoped resource": (
        "least_privilege",
        "aws:iam/rolePolicy:RolePolicy",
        "receiver",
        _policy(
            [{"Sid": "Put", "Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": "*"}]
        ),
    ),
    "xray beside another action on *": (
        "least_privilege",
        "aws:iam/rolePolicy:RolePolicy",
        "receiver",
        _policy(
            [
                {
                    "Sid": "X",
                    "Effect": "Allow",
                    "Action": ["xray:PutTraceSegments", "sns:Publish"],
                    "Resource": ["*"],
                }
            ]
        ),
    ),
    "NotAction": (
        "least_privilege",
        "aws:iam/rolePolicy:RolePolicy",
        "receiver",
        _policy(
            [
                {
                    "Sid": "N",
                    "Effect": "Allow",
                    "NotAction": ["iam:*"],
                    "Resource": ["arn:aws:s3:::b"],
                }
            ]
        ),
    ),
    "statement without a resource": (
        "least_privilege",
        "aws:iam/rolePolicy:RolePolicy",
        "publisher",
        _policy(
            [
                {
                    "Sid": "Stream",
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetRecords"],
                    "Resource": [],
                }
            ]
        ),
    ),
    "statement without an action": (
        "least_privilege",
        "aws:iam/rolePolicy:RolePolicy",
        "receiver",
        _policy([{"Sid": "None", "Effect": "Allow", "Action": [], "Resource": ["*"]}]),
    ),
    "key policy kms:*": (
        "least_privilege",
        "aws:kms/key:Key",
        "",
        _policy(
            [
                {
                    "Sid": "Root",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ]
        ),
    ),
    "key policy open principal": (
        "least_privilege",
        "aws:kms/key:Key",
        "",
        _policy(
            [
                {
                    "Sid": "Open",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["kms:Decrypt"],
                    "Resource": "*",
                }
            ]
        ),
    ),
    "key policy unconditioned service": (
        "least_privilege",
        "aws:kms/key:Key",
        "",
        _policy(
            [
                {
                    "Sid": "Sns",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": ["kms:Decrypt"],
                    "Resource": "*",
                }
            ]
        ),
    ),
    "name without suffix": (
        "named_with_suffix",
        "aws:sqs/queue:Queue",
        "",
        lambda i: i.update(name="webhook-dlq"),
    ),
    "memory over 10240": (
        "within_aws_limits",
        "aws:lambda/function:Function",
        "receiver",
        lambda i: i.update(memorySize=20480),
    ),
    "memory under 128": (
        "within_aws_limits",
        "aws:lambda/function:Function",
        "receiver",
        lambda i: i.update(memorySize=64),
    ),
    "timeout over 900": (
        "within_aws_limits",
        "aws:lambda/function:Function",
        "publisher",
        lambda i: i.update(timeout=901),
    ),
    "five async retries (the original's mistake)": (
        "within_aws_limits",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "",
        lambda i: i.update(maximumRetryAttempts=5),
    ),
    "event age under 60": (
        "within_aws_limits",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "",
        lambda i: i.update(maximumEventAgeInSeconds=30),
    ),
    "event age over 21600": (
        "within_aws_limits",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "",
        lambda i: i.update(maximumEventAgeInSeconds=21601),
    ),
    "queue retention over 14 days": (
        "within_aws_limits",
        "aws:sqs/queue:Queue",
        "",
        lambda i: i.update(messageRetentionSeconds=1209601),
    ),
    "queue retention under 60": (
        "within_aws_limits",
        "aws:sqs/queue:Queue",
        "",
        lambda i: i.update(messageRetentionSeconds=59),
    ),
    "log retention 31 days": (
        "within_aws_limits",
        "aws:cloudwatch/logGroup:LogGroup",
        "receiver",
        lambda i: i.update(retentionInDays=31),
    ),
    "KMS window 6 days": (
        "within_aws_limits",
        "aws:kms/key:Key",
        "",
        lambda i: i.update(deletionWindowInDays=6),
    ),
    "KMS window 31 days": (
        "within_aws_limits",
        "aws:kms/key:Key",
        "",
        lambda i: i.update(deletionWindowInDays=31),
    ),
    "stream retries unbounded": (
        "within_aws_limits",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "",
        lambda i: i.pop("maximumRetryAttempts"),
    ),
    "stream retries forever (-1)": (
        "within_aws_limits",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "",
        lambda i: i.update(maximumRetryAttempts=-1),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RESOURCES))
def test_each_rule_fails_on_a_bad_resource(case: str, bare: Run) -> None:
    rule, typ, name_part, change = BAD_RESOURCES[case]
    context = Context("test", KEY["test"])
    original = bare.one(typ, name_part)
    assert RULES[rule](original, context) == []  # the unchanged resource passes this rule...
    bad = _mutated(bare, typ, change, name_part)
    assert RULES[rule](bad, context) != []  # ...and the broken one fails it


def test_every_rule_has_a_failing_case() -> None:
    assert {rule for rule, *_ in BAD_RESOURCES.values()} == set(RULES)


def test_a_resource_without_the_suffix_in_its_logical_name_fails() -> None:
    resource = Recorded("aws:sns/topic:Topic", "events", {"name": "events-test"})
    assert RULES["named_with_suffix"](resource, Context("test", KEY["test"])) == [
        "events: logical name lacks the suffix 'test'"
    ]
