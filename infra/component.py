"""``WebhookProcessor``: every AWS resource of the processor, as one Pulumi component.

(The module is not called ``webhook_processor.py``: Pulumi puts this folder first on
``sys.path``, where that name would shadow the application package the table schema comes from.)

Shape: a customer-managed KMS key (rotation on) encrypts the table, the topic, the dead-letter
queue, the parameters, the log groups and the functions' environment. The receiver function,
behind a public Function URL (the provider's signature is the authentication), writes to
DynamoDB; the table's stream feeds the publisher function, which publishes to SNS. Failures end
in one SQS dead-letter queue; alarms watch it and both functions.

Least privilege: one role per function, one statement per need, each scoped to the ARNs it
touches; no wildcard action anywhere; ``*`` resource only for X-Ray, which has no resource
ARNs. The KMS key policy grants the functions' roles only through the services they call
(``kms:ViaService``) and the AWS services only for this account.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import pulumi
import pulumi_aws as aws
from alarms import build_alarms
from data import build_data
from keys import build_keys
from scope import Scope

RECEIVER_HANDLER: Final = "webhook_processor.entrypoints.lambda_handler.handler"
PUBLISHER_HANDLER: Final = "webhook_processor.entrypoints.publisher_handler.handler"


@dataclass(frozen=True)
class WebhookProcessorArgs:
    """The component's settings; ``__main__`` fills them from stack configuration."""

    environment_suffix: str
    artifact_path: str
    lambda_memory_mb: int = 1024
    lambda_timeout_seconds: int = 60
    lambda_runtime: str = "python3.13"
    log_retention_days: int = 30
    #: Unset by default: reserving concurrency fails on accounts with a small unreserved pool.
    reserved_concurrency: int | None = None
    cost_center: str = "payments"
    owner: str = "payments-platform"
    #: Provider name -> signing secret (a Pulumi secret). Providers left out get no parameter,
    #: and the receiver answers their deliveries with 503 until one is set.
    signing_secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secrets_ttl_seconds: int = 300
    async_retries: int = 2
    async_max_event_age_seconds: int = 3600
    stream_batch_size: int = 100
    stream_max_retries: int = 5
    stream_max_record_age_seconds: int = 86400


class WebhookProcessor(pulumi.ComponentResource):
    """The processor's AWS resources, every one a child of this component."""

    def __init__(
        self, name: str, args: WebhookProcessorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webhook-processor:index:WebhookProcessor", name, None, opts)
        self._args = args
        self._scope = scope = Scope(
            parent=self,
            suffix=args.environment_suffix,
            cost_center=args.cost_center,
            owner=args.owner,
            account=aws.get_caller_identity_output().account_id,
            region=aws.get_region_output().region,
        )

        self.receiver_role = self._role("receiver")
        self.publisher_role = self._role("publisher")
        self.keys = build_keys(scope, [self.receiver_role, self.publisher_role])
        self.key = self.keys.key
        self.data = build_data(scope, self.key, args.signing_secrets)

        self.receiver, self.receiver_log_group = self._function(
            "receiver",
            handler=RECEIVER_HANDLER,
            role=self.receiver_role,
            environment={
                "TABLE_NAME": self.data.table.name,
                "SECRETS_PATH": self.data.secrets_path,
                "SECRETS_TTL_SECONDS": str(args.secrets_ttl_seconds),
            },
            dead_letter_arn=self.data.dead_letters.arn,
        )
        self.publisher, self.publisher_log_group = self._function(
            "publisher",
            handler=PUBLISHER_HANDLER,
            role=self.publisher_role,
            environment={"TOPIC_ARN": self.data.topic.arn},
            dead_letter_arn=None,
        )
        self._receiver_policy()
        self._publisher_policy()

        aws.lambda_.FunctionEventInvokeConfig(
            self._scope.named("receiver-async"),
            function_name=self.receiver.name,
            maximum_retry_attempts=args.async_retries,
            maximum_event_age_in_seconds=args.async_max_event_age_seconds,
            opts=self._scope.child(),
        )
        self.url = aws.lambda_.FunctionUrl(
            self._scope.named("receiver-url"),
            function_name=self.receiver.name,
            authorization_type="NONE",
            opts=self._scope.child(),
        )
        # Function URLs created since October 2025 need both permissions for public access.
        aws.lambda_.Permission(
            self._scope.named("receiver-url-invoke-url"),
            function=self.receiver.name,
            action="lambda:InvokeFunctionUrl",
            principal="*",
            function_url_auth_type="NONE",
            opts=self._scope.child(),
        )
        aws.lambda_.Permission(
            self._scope.named("receiver-url-invoke"),
            function=self.receiver.name,
            action="lambda:InvokeFunction",
            principal="*",
            invoked_via_function_url=True,
            opts=self._scope.child(),
        )
        aws.lambda_.EventSourceMapping(
            self._scope.named("publisher-stream"),
            event_source_arn=self.data.table.stream_arn,
            function_name=self.publisher.arn,
            starting_position="TRIM_HORIZON",
            batch_size=args.stream_batch_size,
            maximum_retry_attempts=args.stream_max_retries,
            maximum_record_age_in_seconds=args.stream_max_record_age_seconds,
            bisect_batch_on_function_error=True,
            function_response_types=["ReportBatchItemFailures"],
            destination_config={"on_failure": {"destination_arn": self.data.dead_letters.arn}},
            tags=self._scope.tags("publisher-stream"),
            opts=self._scope.child(),
        )
        self.alarms = build_alarms(
            scope,
            topic=self.data.alarm_topic,
            dead_letters=self.data.dead_letters,
            functions={"receiver": self.receiver, "publisher": self.publisher},
        )

        self.webhook_url = self.url.function_url.apply(
            lambda url: f"{(url or '').rstrip('/')}/webhooks/{{provider}}"
        )
        #: The stack outputs by export name: ``__main__`` exports exactly what is registered here.
        self.outputs: Mapping[str, pulumi.Output[str]] = MappingProxyType(
            {
                "webhook_url": self.webhook_url,
                "table_name": self.data.table.name,
                "topic_arn": self.data.topic.arn,
                "dlq_url": self.data.dead_letters.url,
                "kms_key_arn": self.key.arn,
                "receiver_function_name": self.receiver.name,
                "publisher_function_name": self.publisher.name,
                "alarm_topic_arn": self.data.alarm_topic.arn,
            }
        )
        self.register_outputs(self.outputs)

    # -- functions --------------------------------------------------------------------------

    def _role(self, function: str) -> aws.iam.Role:
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
            self._scope.named(function),
            name=self._scope.named(function),
            assume_role_policy=json.dumps(trust),
            tags=self._scope.tags(function),
            opts=self._scope.child(),
        )

    def _function(
        self,
        function: str,
        *,
        handler: str,
        role: aws.iam.Role,
        environment: Mapping[str, pulumi.Input[str]],
        dead_letter_arn: pulumi.Output[str] | None,
    ) -> tuple[aws.lambda_.Function, aws.cloudwatch.LogGroup]:
        """The function and its explicitly named log group (30 days, encrypted)."""
        name = self._scope.named(function)
        log_group = aws.cloudwatch.LogGroup(
            self._scope.named(f"{function}-logs"),
            name=f"/aws/lambda/{name}",
            retention_in_days=self._args.log_retention_days,
            kms_key_id=self.key.arn,
            tags=self._scope.tags(f"{function}-logs"),
            opts=self._scope.child(),
        )
        lambda_function = aws.lambda_.Function(
            name,
            name=name,
            role=role.arn,
            runtime=self._args.lambda_runtime,
            handler=handler,
            architectures=["arm64"],
            memory_size=self._args.lambda_memory_mb,
            timeout=self._args.lambda_timeout_seconds,
            code=pulumi.FileArchive(self._args.artifact_path),
            reserved_concurrent_executions=self._args.reserved_concurrency,
            tracing_config={"mode": "Active"},
            dead_letter_config=(
                {"target_arn": dead_letter_arn} if dead_letter_arn is not None else None
            ),
            kms_key_arn=self.key.arn,
            environment={
                "variables": {
                    **environment,
                    "POWERTOOLS_SERVICE_NAME": "webhook-processor",
                    "POWERTOOLS_METRICS_NAMESPACE": "WebhookProcessor",
                    "LOG_LEVEL": "INFO",
                    "ENVIRONMENT_SUFFIX": self._scope.suffix,
                }
            },
            logging_config={"log_format": "JSON", "log_group": log_group.name},
            tags=self._scope.tags(function),
            opts=self._scope.child(depends_on=[log_group]),
        )
        return lambda_function, log_group

    # -- IAM --------------------------------------------------------------------------------

    def _policy(self, function: str, role: aws.iam.Role, statements: pulumi.Input[Any]) -> None:
        aws.iam.RolePolicy(
            self._scope.named(f"{function}-policy"),
            role=role.id,
            policy=pulumi.Output.from_input(statements).apply(
                lambda resolved: json.dumps({"Version": "2012-10-17", "Statement": resolved})
            ),
            opts=self._scope.child(),
        )

    def _common_statements(
        self, function: str, log_group: aws.cloudwatch.LogGroup
    ) -> list[pulumi.Output[dict[str, Any]]]:
        return [
            _statement(
                f"{function.title()}WritesItsLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [log_group.arn.apply(lambda arn: f"{arn}:*")],
            ),
            # X-Ray has no resource ARNs to scope to: "*" is the only valid resource.
            _statement(
                "TracesToXRay", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]
            ),
        ]

    def _receiver_policy(self) -> None:
        parameters = pulumi.Output.all(self._scope.region, self._scope.account).apply(
            lambda v: f"arn:aws:ssm:{v[0]}:{v[1]}:parameter{self.data.secrets_path}/*"
        )
        statements = [
            *self._common_statements("receiver", self.receiver_log_group),
            _statement("StoresEventsOnce", ["dynamodb:PutItem"], [self.data.table.arn]),
            _statement("ReadsSigningSecrets", ["ssm:GetParameter"], [parameters]),
            _statement(
                "DeadLettersFailedInvocations", ["sqs:SendMessage"], [self.data.dead_letters.arn]
            ),
        ]
        self._policy("receiver", self.receiver_role, statements)

    def _publisher_policy(self) -> None:
        statements = [
            *self._common_statements("publisher", self.publisher_log_group),
            _statement(
                "ReadsTheTableStream",
                [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                [self.data.table.stream_arn],
            ),
            _statement("PublishesEvents", ["sns:Publish"], [self.data.topic.arn]),
            _statement(
                "DeadLettersFailedBatches", ["sqs:SendMessage"], [self.data.dead_letters.arn]
            ),
        ]
        self._policy("publisher", self.publisher_role, statements)


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
