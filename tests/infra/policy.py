"""Policy rules over every resource the program records. Each returns its violations.

The rules are data-driven so that ``test_policy.py`` can feed each one a bad resource and
watch it fail: a policy suite that cannot fail proves nothing.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Final

from tests.infra.harness import Recorded
from tests.infra.iam import as_list
from tests.infra.reference import resource_types

Rule = Callable[[Recorded, "Context"], list[str]]

LOG_RETENTION_DAYS: Final = {
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
}

#: Where each data store names its KMS key.
ENCRYPTION_KEY_INPUT: Final = {
    "aws:dynamodb/table:Table": lambda i: (i.get("serverSideEncryption") or {}).get("kmsKeyArn"),
    "aws:sns/topic:Topic": lambda i: i.get("kmsMasterKeyId"),
    "aws:sqs/queue:Queue": lambda i: i.get("kmsMasterKeyId"),
    "aws:ssm/parameter:Parameter": lambda i: i.get("keyId"),
    "aws:cloudwatch/logGroup:LogGroup": lambda i: i.get("kmsKeyId"),
    "aws:lambda/function:Function": lambda i: i.get("kmsKeyArn"),
}
REQUIRED_TAGS: Final = ("Name", "Environment", "CostCenter", "Owner")


class Context:
    def __init__(self, suffix: str, key_arn: str) -> None:
        self.suffix = suffix
        self.key_arn = key_arn


def is_taggable(typ: str) -> bool:
    """Whether the pulumi-aws resource class of ``typ`` takes ``tags``."""
    _, module, cls = typ.split(":")
    package = module.split("/")[0]
    python_module = importlib.import_module(
        f"pulumi_aws.{package}_" if package == "lambda" else f"pulumi_aws.{package}"
    )
    return "tags" in inspect.signature(getattr(python_module, cls)._internal_init).parameters


def tagged(resource: Recorded, context: Context) -> list[str]:
    if not is_taggable(resource.typ):
        return []
    tags = resource.inputs.get("tags") or {}
    missing = [tag for tag in REQUIRED_TAGS if not tags.get(tag)]
    problems = [f"{resource.name}: missing tags {missing}"] if missing else []
    if tags.get("Environment") not in (None, context.suffix):
        problems.append(f"{resource.name}: Environment tag is not {context.suffix}")
    return problems


def encrypted_with_the_cmk(resource: Recorded, context: Context) -> list[str]:
    """Every data store under the stack's key. A function's key encrypts its environment: one
    without an environment (the edge function: Lambda@Edge takes none, and a key in another
    region than its own could not serve it) has nothing to encrypt."""
    key_of = ENCRYPTION_KEY_INPUT.get(resource.typ)
    if key_of is None:
        return []
    if resource.typ == "aws:lambda/function:Function" and "environment" not in resource.inputs:
        return []
    if (
        resource.name == f"webhook-edge-alarms-{context.suffix}"
        and resource.inputs.get("region") == "us-east-1"
    ):
        # The edge's alarms notify a topic of their own region, where the stack's key is not;
        # CloudWatch cannot publish under the AWS-managed key; a notification is an alarm's
        # name and state, no payment data (infra/alarms.py).
        return [] if key_of(resource.inputs) is None else [f"{resource.name}: key set"]
    key = key_of(resource.inputs)
    if key != context.key_arn:
        return [f"{resource.name}: encrypted with {key!r}, not the stack's CMK"]
    if resource.typ == "aws:dynamodb/table:Table" and not resource.inputs[
        "serverSideEncryption"
    ].get("enabled"):
        return [f"{resource.name}: server-side encryption disabled"]
    return []


def _statements(document: Any) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def least_privilege(resource: Recorded, context: Context) -> list[str]:
    """No wildcard action anywhere; IAM resources scoped to ARNs, except for actions that have
    no resource type (AWS accepts only ``*`` for those: X-Ray's, ``dynamodb:ListStreams``).

    A statement that names no action or no resource is a violation too: the checks below
    look at each action and resource, and would find nothing wrong with none.
    """
    if resource.typ == "aws:iam/rolePolicy:RolePolicy":
        document, is_key_policy = resource.json_input("policy"), False
    elif resource.typ == "aws:kms/key:Key":
        document, is_key_policy = resource.json_input("policy"), True
    else:
        return []
    problems = []
    for statement in _statements(document):
        sid = statement.get("Sid", "?")
        actions = as_list(statement.get("Action", []))
        if statement.get("NotAction") or any("*" in action for action in actions):
            problems.append(f"{resource.name}/{sid}: wildcard action {actions}")
        elif not actions:
            problems.append(f"{resource.name}/{sid}: no action")
        if is_key_policy:
            # In a key policy "Resource": "*" means this key; principals must be scoped.
            principal = statement.get("Principal", {})
            if principal == "*" or principal.get("AWS") == "*":
                problems.append(f"{resource.name}/{sid}: open principal")
            if "Service" in principal and not statement.get("Condition"):
                problems.append(f"{resource.name}/{sid}: service principal without a condition")
            continue
        resources = as_list(statement.get("Resource", []))
        if not resources:
            problems.append(f"{resource.name}/{sid}: no resource")
        typeless = all(not resource_types(action) for action in actions)
        if any(r == "*" or not str(r).startswith("arn:") for r in resources) and not typeless:
            problems.append(f"{resource.name}/{sid}: unscoped resource {resources}")
    return problems


def named_with_suffix(resource: Recorded, context: Context) -> list[str]:
    problems = []
    if context.suffix not in resource.name:
        problems.append(f"{resource.name}: logical name lacks the suffix {context.suffix!r}")
    name = resource.inputs.get("name")
    if isinstance(name, str) and context.suffix not in name:
        problems.append(f"{resource.name}: name {name!r} lacks the suffix {context.suffix!r}")
    return problems


def _check(problems: list[str], resource: Recorded, field: str, low: int, high: int) -> None:
    value = resource.inputs.get(field)
    if value is not None and not low <= value <= high:
        problems.append(f"{resource.name}: {field}={value} outside AWS's {low}-{high}")


def within_aws_limits(resource: Recorded, context: Context) -> list[str]:
    problems: list[str] = []
    typ = resource.typ
    if typ == "aws:lambda/function:Function":
        _check(problems, resource, "memorySize", 128, 10240)
        _check(problems, resource, "timeout", 1, 900)
    elif typ == "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig":
        _check(problems, resource, "maximumRetryAttempts", 0, 2)
        _check(problems, resource, "maximumEventAgeInSeconds", 60, 21600)
    elif typ == "aws:sqs/queue:Queue":
        _check(problems, resource, "messageRetentionSeconds", 60, 1209600)
    elif typ == "aws:kms/key:Key":
        _check(problems, resource, "deletionWindowInDays", 7, 30)
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        days = resource.inputs.get("retentionInDays")
        if days not in LOG_RETENTION_DAYS:
            problems.append(f"{resource.name}: retentionInDays={days} not a CloudWatch value")
    elif typ == "aws:lambda/eventSourceMapping:EventSourceMapping":
        # -1 (the default) means retry forever: a poison record would block the shard.
        _check(problems, resource, "maximumRetryAttempts", 0, 10000)
        _check(problems, resource, "maximumRecordAgeInSeconds", 60, 604800)
        if resource.inputs.get("maximumRetryAttempts") is None:
            problems.append(f"{resource.name}: stream retries unbounded")
    return problems


RULES: Final[dict[str, Rule]] = {
    "tagged": tagged,
    "encrypted_with_the_cmk": encrypted_with_the_cmk,
    "least_privilege": least_privilege,
    "named_with_suffix": named_with_suffix,
    "within_aws_limits": within_aws_limits,
}


def violations(resources: Iterable[Recorded], context: Context) -> list[str]:
    return [problem for r in resources for rule in RULES.values() for problem in rule(r, context)]
