"""The two functions, their roles and policies, their log groups, and what invokes them.

The receiver, behind a public Function URL (the provider's signature is the authentication),
writes each event to the table once; a failed asynchronous invocation goes to the dead-letter
queue. The table's stream feeds the publisher, which publishes to the topic; a batch that still
fails after bounded retries is dead-lettered too.

Least privilege: one role per function, one statement per need, each scoped to the ARNs it
touches; no wildcard action anywhere; ``*`` resource only for actions that have no resource
type (X-Ray's, ``dynamodb:ListStreams``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pulumi
import pulumi_aws as aws

from data import Data
from scope import Scope

if TYPE_CHECKING:
    from component import WebhookProcessorArgs

RECEIVER_HANDLER: Final = "webhook_processor.entrypoints.lambda_handler.handler"
PUBLISHER_HANDLER: Final = "webhook_processor.entrypoints.publisher_handler.handler"


@dataclass(frozen=True)
class Roles:
    """Each function's execution role, by function."""

    receiver: aws.iam.Role
    publisher: aws.iam.Role


def build_roles(scope: Scope) -> Roles:
    """One role per function. They come before the key, whose policy names them; their
    permissions come with the functions (``build_functions``)."""
    return Roles(_role(scope, "receiver"), _role(scope, "publisher"))


@dataclass(frozen=True)
class Functions:
    """The functions, their log groups and the receiver's public URL."""

    receiver: aws.lambda_.Function
    receiver_log_group: aws.cloudwatch.LogGroup
    publisher: aws.lambda_.Function
    publisher_log_group: aws.cloudwatch.LogGroup
    url: aws.lambda_.FunctionUrl
    #: Where providers deliver: the receiver's URL with ``/webhooks/{provider}``.
    webhook_url: pulumi.Output[str]


def build_functions(
    scope: Scope, args: WebhookProcessorArgs, roles: Roles, key: aws.kms.Key, data: Data
) -> Functions:
    """Both functions and their policies, the receiver's public URL and asynchronous retries,
    and the stream mapping that feeds the publisher."""
    receiver, receiver_log_group = _function(
        scope,
        args,
        key,
        "receiver",
        handler=RECEIVER_HANDLER,
        role=roles.receiver,
        environment={
            "TABLE_NAME": data.table.name,
            "SECRETS_PATH": data.secrets_path,
            "SECRETS_TTL_SECONDS": str(args.secrets_ttl_seconds),
            **(
                {"SQUARE_NOTIFICATION_URL": args.square_notification_url}
                if args.square_notification_url
                else {}
            ),
        },
        dead_letter_arn=data.dead_letters.arn,
    )
    publisher, publisher_log_group = _function(
        scope,
        args,
        key,
        "publisher",
        handler=PUBLISHER_HANDLER,
        role=roles.publisher,
        environment={"TOPIC_ARN": data.topic.arn},
        dead_letter_arn=None,
    )
    _receiver_policy(scope, roles.receiver, receiver_log_group, data)
    _publisher_policy(scope, roles.publisher, publisher_log_group, data)

    aws.lambda_.FunctionEventInvokeConfig(
        scope.named("receiver-async"),
        function_name=receiver.name,
        maximum_retry_attempts=args.async_retries,
        maximum_event_age_in_seconds=args.async_max_event_age_seconds,
        opts=scope.child(),
    )
    url = aws.lambda_.FunctionUrl(
        scope.named("receiver-url"),
        function_name=receiver.name,
        authorization_type="NONE",
        opts=scope.child(),
    )
    # Function URLs created since October 2025 need both permissions for public access.
    public_access: dict[str, dict[str, Any]] = {
        "receiver-url-invoke-url": {
            "action": "lambda:InvokeFunctionUrl",
            "function_url_auth_type": "NONE",
        },
        "receiver-url-invoke": {
            "action": "lambda:InvokeFunction",
            "invoked_via_function_url": True,
        },
    }
    for role, grant in public_access.items():
        aws.lambda_.Permission(
            scope.named(role), function=receiver.name, principal="*", opts=scope.child(), **grant
        )
    aws.lambda_.EventSourceMapping(
        scope.named("publisher-stream"),
        event_source_arn=data.table.stream_arn,
        function_name=publisher.arn,
        starting_position="TRIM_HORIZON",
        batch_size=args.stream_batch_size,
        maximum_retry_attempts=args.stream_max_retries,
        maximum_record_age_in_seconds=args.stream_max_record_age_seconds,
        bisect_batch_on_function_error=True,
        function_response_types=["ReportBatchItemFailures"],
        destination_config={"on_failure": {"destination_arn": data.dead_letters.arn}},
        tags=scope.tags("publisher-stream"),
        opts=scope.child(),
    )
    webhook_url = url.function_url.apply(
        lambda base: f"{(base or '').rstrip('/')}/webhooks/{{provider}}"
    )
    return Functions(receiver, receiver_log_group, publisher, publisher_log_group, url, webhook_url)


def _role(scope: Scope, function: str) -> aws.iam.Role:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return aws.iam.Role(
        scope.named(function),
        name=scope.named(function),
        assume_role_policy=json.dumps(trust),
        tags=scope.tags(function),
        opts=scope.child(),
    )


def _function(
    scope: Scope,
    args: WebhookProcessorArgs,
    key: aws.kms.Key,
    function: str,
    *,
    handler: str,
    role: aws.iam.Role,
    environment: Mapping[str, pulumi.Input[str]],
    dead_letter_arn: pulumi.Output[str] | None,
) -> tuple[aws.lambda_.Function, aws.cloudwatch.LogGroup]:
    """The function and its explicitly named log group (30 days, encrypted)."""
    name = scope.named(function)
    log_group = aws.cloudwatch.LogGroup(
        scope.named(f"{function}-logs"),
        name=f"/aws/lambda/{name}",
        retention_in_days=args.log_retention_days,
        kms_key_id=key.arn,
        tags=scope.tags(f"{function}-logs"),
        opts=scope.child(),
    )
    lambda_function = aws.lambda_.Function(
        name,
        name=name,
        role=role.arn,
        runtime=args.lambda_runtime,
        handler=handler,
        architectures=["arm64"],
        memory_size=args.lambda_memory_mb,
        timeout=args.lambda_timeout_seconds,
        code=pulumi.FileArchive(args.artifact_path),
        reserved_concurrent_executions=args.reserved_concurrency,
        tracing_config={"mode": "Active"},
        dead_letter_config=(
            {"target_arn": dead_letter_arn} if dead_letter_arn is not None else None
        ),
        kms_key_arn=key.arn,
        environment={
            "variables": {
                **environment,
                "POWERTOOLS_SERVICE_NAME": "webhook-processor",
                "POWERTOOLS_METRICS_NAMESPACE": "WebhookProcessor",
                "LOG_LEVEL": "INFO",
                "ENVIRONMENT_SUFFIX": scope.suffix,
            }
        },
        logging_config={"log_format": "JSON", "log_group": log_group.name},
        tags=scope.tags(function),
        opts=scope.child(depends_on=[log_group]),
    )
    return lambda_function, log_group


# -- IAM --------------------------------------------------------------------------------------


def _receiver_policy(
    scope: Scope, role: aws.iam.Role, log_group: aws.cloudwatch.LogGroup, data: Data
) -> None:
    parameters = pulumi.Output.all(scope.region, scope.account).apply(
        lambda v: f"arn:aws:ssm:{v[0]}:{v[1]}:parameter{data.secrets_path}/*"
    )
    statements = [
        *_common_statements("receiver", log_group),
        # Storing an event is a TransactWriteItems of two Puts (the event once, its transaction's
        # next version), after a GetItem of that version.
        _statement(
            "StoresEventsAndTheirTransactions",
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            [data.table.arn],
        ),
        _statement("ReadsSigningSecrets", ["ssm:GetParameter"], [parameters]),
        _statement("DeadLettersFailedInvocations", ["sqs:SendMessage"], [data.dead_letters.arn]),
    ]
    _policy(scope, "receiver", role, statements)


def _publisher_policy(
    scope: Scope, role: aws.iam.Role, log_group: aws.cloudwatch.LogGroup, data: Data
) -> None:
    statements = [
        *_common_statements("publisher", log_group),
        # What the stream's event source mapping calls as this role.
        _statement(
            "ReadsTheTableStream",
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            [data.table.stream_arn],
        ),
        # ListStreams has no resource type: "*" is the only resource it can be granted on.
        _statement("ListsStreams", ["dynamodb:ListStreams"], ["*"]),
        _statement("PublishesEvents", ["sns:Publish"], [data.topic.arn]),
        _statement("DeadLettersFailedBatches", ["sqs:SendMessage"], [data.dead_letters.arn]),
    ]
    _policy(scope, "publisher", role, statements)


def _common_statements(
    function: str, log_group: aws.cloudwatch.LogGroup
) -> list[pulumi.Output[dict[str, Any]]]:
    return [
        _statement(
            f"{function.title()}WritesItsLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group.arn.apply(lambda arn: f"{arn}:*")],
        ),
        # X-Ray has no resource ARNs to scope to: "*" is the only valid resource.
        _statement("TracesToXRay", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    ]


def _policy(scope: Scope, function: str, role: aws.iam.Role, statements: pulumi.Input[Any]) -> None:
    aws.iam.RolePolicy(
        scope.named(f"{function}-policy"),
        role=role.id,
        policy=pulumi.Output.from_input(statements).apply(
            lambda resolved: json.dumps({"Version": "2012-10-17", "Statement": resolved})
        ),
        opts=scope.child(),
    )


def _statement(
    sid: str, actions: Sequence[str], resources: Sequence[pulumi.Input[str]]
) -> pulumi.Output[dict[str, Any]]:
    return pulumi.Output.all(*resources).apply(
        lambda resolved: {
            "Sid": sid,
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": list(resolved),
        }
    )
