"""The two functions, their roles and policies, their log groups, and what invokes them.

The receiver, behind a public Function URL (the provider's signature is the authentication),
writes each event to the table once; a failed asynchronous invocation goes to the dead-letter
queue. The table's stream feeds the publisher, which publishes to the topic; what it keeps
failing to publish past the hand-off bound it hands off to the publish-failures queue (see
``webhook_processor.aws.stream``). Lambda's own retries of a shard are set to AWS's
maximum so that the hand-off, not Lambda, decides when to give a record up; Lambda's on-failure
destination (the same queue) is only the last resort.

Least privilege: one role per function, one statement per need, each scoped to the ARNs it
touches; no wildcard action anywhere; ``*`` resource only for actions that have no resource
type (X-Ray's, ``dynamodb:ListStreams``). Each function, and the stream mapping, waits for its
role's policy: a function created before its permissions exist would fail its first calls.
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
from webhook_processor.aws import metrics
from webhook_processor.aws.items import PUBLICATION_FILTER

if TYPE_CHECKING:
    from settings import WebhookProcessorArgs

RECEIVER_HANDLER: Final = "webhook_processor.aws.handlers.receiver.handler"
PUBLISHER_HANDLER: Final = "webhook_processor.aws.handlers.publisher.handler"


@dataclass(frozen=True)
class Roles:
    """Each function's execution role, by function."""

    receiver: aws.iam.Role
    publisher: aws.iam.Role
    #: Only when ``apiKeys`` holds a key (``reconciler.py``).
    reconciler: aws.iam.Role | None = None

    def by_function(self) -> dict[str, aws.iam.Role]:
        found = {"receiver": self.receiver, "publisher": self.publisher}
        return found | ({"reconciler": self.reconciler} if self.reconciler else {})


def build_roles(scope: Scope, *, reconciler: bool = False) -> Roles:
    """One role per function. They come before the key, whose policy names them; their
    permissions come with the functions (``build_functions``, ``reconciler.py``)."""
    return Roles(
        execution_role(scope, "receiver"),
        execution_role(scope, "publisher"),
        execution_role(scope, "reconciler") if reconciler else None,
    )


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
    receiver_log_group = log_group(scope, args, key, "receiver")
    publisher_log_group = log_group(scope, args, key, "publisher")
    receiver_policy = _receiver_policy(scope, roles.receiver, receiver_log_group, data)
    publisher_policy = _publisher_policy(scope, roles.publisher, publisher_log_group, data)
    receiver = lambda_function(
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
        log_group=receiver_log_group,
        policy=receiver_policy,
    )
    publisher = lambda_function(
        scope,
        args,
        key,
        "publisher",
        handler=PUBLISHER_HANDLER,
        role=roles.publisher,
        environment={
            "TOPIC_ARN": data.topic.arn,
            "TABLE_NAME": data.table.name,
            "PUBLISH_FAILURES_URL": data.publish_failures.url,
            "HANDOFF_AFTER_SECONDS": str(args.handoff_after_seconds),
        },
        dead_letter_arn=None,
        log_group=publisher_log_group,
        policy=publisher_policy,
    )

    aws.lambda_.FunctionEventInvokeConfig(
        scope.named("receiver-async"),
        function_name=receiver.name,
        maximum_retry_attempts=args.async_retries,
        maximum_event_age_in_seconds=args.async_max_event_age_seconds,
        opts=scope.child(),
    )
    # Behind the edge, only CloudFront may call the URL (infra/edge.py grants it); otherwise
    # anyone may, and the provider's signature is the authentication. While the providers are
    # moved to the edge (edge.lockFunctionUrl false), it answers both.
    locked = args.edge.enabled and args.edge.lock_function_url
    url = aws.lambda_.FunctionUrl(
        scope.named("receiver-url"),
        function_name=receiver.name,
        authorization_type="AWS_IAM" if locked else "NONE",
        opts=scope.child(),
    )
    if not locked:
        url_permissions(scope, receiver, "receiver-url", principal="*", auth_type="NONE")
    aws.lambda_.EventSourceMapping(
        scope.named("publisher-stream"),
        event_source_arn=data.table.stream_arn,
        function_name=publisher.arn,
        starting_position="TRIM_HORIZON",
        batch_size=args.stream_batch_size,
        maximum_retry_attempts=args.stream_max_retries,
        maximum_record_age_in_seconds=args.stream_max_record_age_seconds,
        bisect_batch_on_function_error=True,
        filter_criteria={"filters": [{"pattern": json.dumps(PUBLICATION_FILTER)}]},
        function_response_types=["ReportBatchItemFailures"],
        destination_config={"on_failure": {"destination_arn": data.publish_failures.arn}},
        tags=scope.tags("publisher-stream"),
        # The mapping reads the stream as the publisher's role from the moment it exists.
        opts=scope.child(depends_on=[publisher_policy]),
    )
    webhook_url = url.function_url.apply(
        lambda base: f"{(base or '').rstrip('/')}/webhooks/{{provider}}"
    )
    return Functions(receiver, receiver_log_group, publisher, publisher_log_group, url, webhook_url)


def url_permissions(
    scope: Scope,
    receiver: aws.lambda_.Function,
    role: str,
    *,
    principal: str,
    auth_type: str,
    source_arn: pulumi.Input[str] | None = None,
) -> None:
    """Let ``principal`` call the receiver's URL (of ``auth_type``), from ``source_arn`` only
    if given: Function URLs created since October 2025 need two permissions, one to invoke the
    URL and one to invoke the function through it."""
    only_from: dict[str, Any] = {} if source_arn is None else {"source_arn": source_arn}
    grants: dict[str, dict[str, Any]] = {
        "invoke-url": {"action": "lambda:InvokeFunctionUrl", "function_url_auth_type": auth_type},
        "invoke": {"action": "lambda:InvokeFunction", "invoked_via_function_url": True},
    }
    for name, grant in grants.items():
        aws.lambda_.Permission(
            scope.named(f"{role}-{name}"),
            function=receiver.name,
            principal=principal,
            opts=scope.child(),
            **grant,
            **only_from,
        )


def execution_role(scope: Scope, function: str) -> aws.iam.Role:
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


def log_group(
    scope: Scope, args: WebhookProcessorArgs, key: aws.kms.Key, function: str
) -> aws.cloudwatch.LogGroup:
    """The function's explicitly named log group (30 days, encrypted)."""
    return aws.cloudwatch.LogGroup(
        scope.named(f"{function}-logs"),
        name=f"/aws/lambda/{scope.named(function)}",
        retention_in_days=args.log_retention_days,
        kms_key_id=key.arn,
        tags=scope.tags(f"{function}-logs"),
        opts=scope.child(),
    )


def lambda_function(
    scope: Scope,
    args: WebhookProcessorArgs,
    key: aws.kms.Key,
    function: str,
    *,
    handler: str,
    role: aws.iam.Role,
    environment: Mapping[str, pulumi.Input[str]],
    dead_letter_arn: pulumi.Output[str] | None,
    log_group: aws.cloudwatch.LogGroup,
    policy: aws.iam.RolePolicy,
    timeout: int | None = None,
) -> aws.lambda_.Function:
    """The function, created after its log group and its role's policy; ``timeout`` (default:
    ``lambdaTimeoutSeconds``), its own reserved concurrency if ``reservedConcurrency`` has one."""
    name = scope.named(function)
    return aws.lambda_.Function(
        name,
        name=name,
        role=role.arn,
        runtime=args.lambda_runtime,
        handler=handler,
        architectures=["arm64"],
        memory_size=args.lambda_memory_mb,
        timeout=args.lambda_timeout_seconds if timeout is None else timeout,
        code=pulumi.FileArchive(args.artifact_path),
        reserved_concurrent_executions=args.reserved_concurrency.get(function),
        tracing_config={"mode": "Active"},
        dead_letter_config=(
            {"target_arn": dead_letter_arn} if dead_letter_arn is not None else None
        ),
        kms_key_arn=key.arn,
        environment={
            "variables": {
                **environment,
                # Metrics carry the stack's service name, which its alarms name too.
                "POWERTOOLS_SERVICE_NAME": metrics.service_name(scope.suffix),
                "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
                "LOG_LEVEL": "INFO",
                "ENVIRONMENT_SUFFIX": scope.suffix,
            }
        },
        logging_config={"log_format": "JSON", "log_group": log_group.name},
        tags=scope.tags(function),
        opts=scope.child(depends_on=[log_group, policy]),
    )


# -- IAM --------------------------------------------------------------------------------------


def _receiver_policy(
    scope: Scope, role: aws.iam.Role, log_group: aws.cloudwatch.LogGroup, data: Data
) -> aws.iam.RolePolicy:
    parameters = pulumi.Output.all(scope.region, scope.account).apply(
        lambda v: f"arn:aws:ssm:{v[0]}:{v[1]}:parameter{data.secrets_path}/*"
    )
    statements = [
        *common_statements("receiver", log_group),
        # Storing an event is a TransactWriteItems of two Puts (the event once, its transaction's
        # next version), after a GetItem of that version.
        statement(
            "StoresEventsAndTheirTransactions",
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            [data.table.arn],
        ),
        statement("ReadsSigningSecrets", ["ssm:GetParameter"], [parameters]),
        statement("DeadLettersFailedInvocations", ["sqs:SendMessage"], [data.dead_letters.arn]),
    ]
    return role_policy(scope, "receiver", role, statements)


def _publisher_policy(
    scope: Scope, role: aws.iam.Role, log_group: aws.cloudwatch.LogGroup, data: Data
) -> aws.iam.RolePolicy:
    statements = [
        *common_statements("publisher", log_group),
        # What the stream's event source mapping calls as this role.
        statement(
            "ReadsTheTableStream",
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            [data.table.stream_arn],
        ),
        # ListStreams has no resource type: "*" is the only resource it can be granted on.
        statement("ListsStreams", ["dynamodb:ListStreams"], ["*"]),
        statement("PublishesEvents", ["sns:Publish"], [data.topic.arn]),
        # Handing an event off: its mark is read (a retried old record) and written.
        statement(
            "MarksHandedOffEvents",
            ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            [data.table.arn],
        ),
        # The hand-off's messages, and Lambda's on-failure records as the last resort.
        statement("HandsOffFailedPublications", ["sqs:SendMessage"], [data.publish_failures.arn]),
    ]
    return role_policy(scope, "publisher", role, statements)


def common_statements(
    function: str, log_group: aws.cloudwatch.LogGroup
) -> list[pulumi.Output[dict[str, Any]]]:
    return [
        statement(
            f"{function.title()}WritesItsLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group.arn.apply(lambda arn: f"{arn}:*")],
        ),
        # X-Ray has no resource ARNs to scope to: "*" is the only valid resource.
        statement("TracesToXRay", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    ]


def role_policy(
    scope: Scope, function: str, role: aws.iam.Role, statements: pulumi.Input[Any]
) -> aws.iam.RolePolicy:
    return aws.iam.RolePolicy(
        scope.named(f"{function}-policy"),
        role=role.id,
        policy=pulumi.Output.from_input(statements).apply(
            lambda resolved: json.dumps({"Version": "2012-10-17", "Statement": resolved})
        ),
        opts=scope.child(),
    )


def statement(
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
