"""The reconciler: made only when ``apiKeys`` holds a key. A function (the same artifact as the
others) that lists each keyed provider's events API and stores, through the receiver's own
conditional writes, what the table lacks; the table's stream publishes it as any stored event.

An EventBridge rule runs it every ``reconcileIntervalMinutes`` (``rate(N minutes)``) with a
Lambda permission for ``events.amazonaws.com`` from that rule alone: a resource policy, no role
to pass (EventBridge Scheduler would need one). EventBridge invokes asynchronously; Lambda's
retries are off, since the next scheduled run lists the same window again (the high-water mark
only moves when a window was listed whole). Its timeout is a minute under the interval.

Least privilege: its role reads and writes the table with exactly what storing an event
(GetItem, and PutItem for each Put of the TransactWriteItems) and the journal (UpdateItem) call,
reads the key parameters it is given and nothing else of SSM, writes its own log group, traces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pulumi
import pulumi_aws as aws

from data import Data
from functions import common_statements, lambda_function, log_group, role_policy, statement
from scope import Scope
from settings import reconciler_timeout

if TYPE_CHECKING:
    from settings import WebhookProcessorArgs

RECONCILER_HANDLER: Final = "webhook_processor.aws.handlers.reconciler.handler"
#: The one target of the schedule's rule.
TARGET_ID: Final = "reconciler"


@dataclass(frozen=True)
class Reconciler:
    """The reconciler's function, log group and schedule."""

    function: aws.lambda_.Function
    log_group: aws.cloudwatch.LogGroup
    schedule: aws.cloudwatch.EventRule


def schedule_expression(minutes: int) -> str:
    """EventBridge's rate expression: its unit is singular for 1 and plural otherwise."""
    return f"rate({minutes} minute{'' if minutes == 1 else 's'})"


def build_reconciler(
    scope: Scope, args: WebhookProcessorArgs, role: aws.iam.Role, key: aws.kms.Key, data: Data
) -> Reconciler:
    """The function, its policy and log group, its schedule and the permission to run it."""
    logs = log_group(scope, args, key, "reconciler")
    parameters = {provider: p.name for provider, p in sorted(data.api_keys.items())}
    policy = role_policy(
        scope,
        "reconciler",
        role,
        [
            *common_statements("reconciler", logs),
            # Storing a recovered event is the receiver's write (a GetItem of its transaction's
            # version, a TransactWriteItems of Puts); the journal is UpdateItem and GetItem.
            statement(
                "StoresRecoveredEventsAndItsJournal",
                ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                [data.table.arn],
            ),
            statement(
                "ReadsTheEventsApiKeys",
                ["ssm:GetParameter"],
                [p.arn for _, p in sorted(data.api_keys.items())],
            ),
        ],
    )
    function = lambda_function(
        scope,
        args,
        key,
        "reconciler",
        handler=RECONCILER_HANDLER,
        role=role,
        environment={
            "TABLE_NAME": data.table.name,
            "API_KEY_PARAMETERS": pulumi.Output.all(*parameters.values()).apply(
                lambda names: json.dumps(dict(zip(parameters, names, strict=True)))
            ),
            "SECRETS_TTL_SECONDS": str(args.secrets_ttl_seconds),
            **(
                {"SQUARE_NOTIFICATION_URL": args.square_notification_url}
                if args.square_notification_url
                else {}
            ),
        },
        dead_letter_arn=None,
        log_group=logs,
        policy=policy,
        timeout=reconciler_timeout(args.reconcile_interval_minutes),
    )
    aws.lambda_.FunctionEventInvokeConfig(
        scope.named("reconciler-async"),
        function_name=function.name,
        maximum_retry_attempts=0,
        opts=scope.child(),
    )
    rule = aws.cloudwatch.EventRule(
        scope.named("reconcile-schedule"),
        name=scope.named("reconcile-schedule"),
        description="Runs the reconciler: recovers the webhooks the providers' events APIs list "
        "and the table lacks",
        schedule_expression=schedule_expression(args.reconcile_interval_minutes),
        tags=scope.tags("reconcile-schedule"),
        opts=scope.child(),
    )
    permission = aws.lambda_.Permission(
        scope.named("reconciler-schedule-invoke"),
        function=function.name,
        action="lambda:InvokeFunction",
        principal="events.amazonaws.com",
        source_arn=rule.arn,
        opts=scope.child(),
    )
    aws.cloudwatch.EventTarget(
        scope.named("reconcile-schedule-target"),
        rule=rule.name,
        target_id=TARGET_ID,
        arn=function.arn,
        # The first scheduled invocation already finds its permission.
        opts=scope.child(depends_on=[permission]),
    )
    return Reconciler(function, logs, rule)
