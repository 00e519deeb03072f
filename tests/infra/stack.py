"""What the access matrix's rows are made of: who calls (the callers), the stack's ARNs, one
:class:`Row` per call, and the AWS pages the rows cite. The rows themselves are in
``tests/infra/matrix.py`` (and the optional edge's in ``tests/infra/edge_rows.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from webhook_processor.providers import default_providers

if TYPE_CHECKING:
    from tests.infra.provider_rows import Created

DEPLOYER: Final = "deployer"
OPERATOR: Final = "operator"
RECEIVER: Final = "receiver"
PUBLISHER: Final = "publisher"
LOGS: Final = "logs"
ALARMS: Final = "cloudwatch"
ANYONE: Final = "anyone"
CLOUDFRONT: Final = "cloudfront"
EDGE: Final = "edge"
FUNCTIONS: Final = (RECEIVER, PUBLISHER)
#: Only with ``apiKeys``: the reconciler's role, and EventBridge, which runs it on a schedule.
RECONCILER: Final = "reconciler"
EVENTS: Final = "events"

# -- where each row comes from --------------------------------------------------------------
DOCS = "https://docs.aws.amazon.com"
KMS_DYNAMODB: Final = f"{DOCS}/kms/latest/developerguide/services-dynamodb.html"
KMS_GRANT_CONDITION: Final = (
    f"{DOCS}/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource"
)
KMS_ALIAS: Final = f"{DOCS}/kms/latest/developerguide/alias-access.html"
SSM_KMS: Final = (
    f"{DOCS}/systems-manager/latest/userguide/secure-string-parameter-kms-encryption.html"
)
SSM_DECRYPT: Final = f"{DOCS}/systems-manager/latest/userguide/ps-restrict-decryption.html"
LAMBDA_ENV: Final = f"{DOCS}/lambda/latest/dg/configuration-envvars-encryption.html"
DDB_TRANSACTIONS: Final = f"{DOCS}/amazondynamodb/latest/developerguide/transaction-apis-iam.html"
LAMBDA_DDB: Final = f"{DOCS}/lambda/latest/dg/with-ddb.html"
LAMBDA_DDB_FAILURES: Final = f"{DOCS}/lambda/latest/dg/services-dynamodb-errors.html"
LAMBDA_DLQ: Final = f"{DOCS}/lambda/latest/dg/invocation-async-retain-records.html"
LAMBDA_LOGS: Final = f"{DOCS}/lambda/latest/dg/monitoring-cloudwatchlogs.html"
LAMBDA_XRAY: Final = f"{DOCS}/lambda/latest/dg/services-xray.html"
LAMBDA_URL: Final = f"{DOCS}/lambda/latest/dg/urls-auth.html"
LAMBDA_ROLE: Final = f"{DOCS}/lambda/latest/dg/lambda-intro-execution-role.html"
SQS_KMS: Final = f"{DOCS}/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html"
SNS_KMS: Final = f"{DOCS}/sns/latest/dg/sns-key-management.html"
SNS_ALARMS: Final = f"{SNS_KMS}#compatibility-with-aws-services"
LOGS_KMS: Final = f"{DOCS}/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"
PASS_ROLE: Final = f"{DOCS}/IAM/latest/UserGuide/id_roles_use_passrole.html"
CF_GUIDE: Final = f"{DOCS}/AmazonCloudFront/latest/DeveloperGuide"
CF_LAMBDA_ORIGIN: Final = f"{CF_GUIDE}/private-content-restricting-access-to-lambda.html"
CF_WAF: Final = f"{CF_GUIDE}/distribution-web-awswaf.html"
EDGE_PERMISSIONS: Final = f"{CF_GUIDE}/lambda-edge-permissions.html"
EVENTS_SCHEDULE_LAMBDA: Final = f"{DOCS}/eventbridge/latest/userguide/eb-run-lambda-schedule.html"
EVENTS_RESOURCE_POLICY: Final = (
    f"{DOCS}/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions"
)
#: What the AWS provider calls for each resource, as its resource code says (pulumi-aws is
#: generated from terraform-provider-aws).
TF_AWS: Final = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service"
TF_EVENT_RULE: Final = f"{TF_AWS}/events/rule.go (PutRule, DescribeRule, DeleteRule; tags_gen.go)"
TF_EVENT_TARGET: Final = f"{TF_AWS}/events/target.go (PutTargets, ListTargetsByRule, RemoveTargets)"
TF_LAMBDA_PERMISSION: Final = (
    f"{TF_AWS}/lambda/permission.go (AddPermission, GetPolicy, RemovePermission)"
)
TF_SSM_PARAMETER: Final = f"{TF_AWS}/ssm/parameter.go (PutParameter, GetParameter, DeleteParameter)"
DOCS_RECONCILE: Final = "docs/deploy.md#recovering-missed-webhooks (the reconciler)"
DOCS_EDGE_TEARDOWN: Final = "docs/deploy.md#turning-the-edge-on-and-off (the retained function)"
DOCS_DLQ: Final = "docs/operate.md#two-failure-queues-and-why (the receiver's dead-letter queue)"
DOCS_HANDOFF: Final = "docs/operate.md#two-failure-queues-and-why (the publish-failures queue)"


def reference(service: str) -> str:
    """The Service Authorization Reference page of ``service``: its actions and resources."""
    return f"{DOCS}/service-authorization/latest/reference/list_{service}.html"


# -- the stack's names ------------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeStack:
    """What the edge adds (``edge.enabled``): the distribution, its web ACL, the body-hashing
    function in us-east-1 and its role."""

    distribution: str
    web_acl: str
    function: str
    role: str


@dataclass(frozen=True)
class ReconcilerStack:
    """What ``apiKeys`` adds: the reconciler's function, role and log group, the schedule's
    rule, and one SecureString per key."""

    function: str
    role: str
    log_group: str
    rule: str
    api_keys: tuple[str, ...]


@dataclass(frozen=True)
class Stack:
    """The ARNs rows name: taken from a deployment (mocked, emulated or real), or built from
    the naming convention with ``*`` where a name is AWS's to choose."""

    account: str
    region: str
    suffix: str
    key: str
    table: str
    stream: str
    topic: str
    alarm_topic: str
    dlq: str
    publish_failures: str
    functions: dict[str, str]
    roles: dict[str, str]
    log_groups: dict[str, str]
    #: SecureStrings the stack creates (configured secrets only).
    parameters: tuple[str, ...] = ()
    alarms: tuple[str, ...] = ()
    reserved_concurrency: bool = False
    #: ``alarmEmail`` is set: the alarm topic gets a subscription.
    alarm_email: bool = False
    #: CloudFront and AWS WAF in front of the receiver, when configured.
    edge: EdgeStack | None = None
    #: The reconciler, when ``apiKeys`` holds a key.
    reconciler: ReconcilerStack | None = None
    #: Every resource the program created (a mocked run's), for the provider's calls.
    created: tuple[Created, ...] = ()

    @classmethod
    def named(
        cls,
        suffix: str,
        account: str = "123456789012",
        region: str = "us-east-1",
        api_keys: tuple[str, ...] = ("square", "stripe"),
    ) -> Stack:
        """The stack by convention (``webhook-{role}-{suffix}``), for code that runs on
        resources named that way without the program having made them; with a reconciler
        holding ``api_keys`` unless that is empty."""

        def arn(service: str, resource: str) -> str:
            return f"arn:aws:{service}:{region}:{account}:{resource}"

        table = arn("dynamodb", f"table/webhook-events-{suffix}")
        return cls(
            account=account,
            region=region,
            suffix=suffix,
            key=arn("kms", "key/*"),
            table=table,
            stream=f"{table}/stream/*",
            topic=arn("sns", f"webhook-events-{suffix}"),
            alarm_topic=arn("sns", f"webhook-alarms-{suffix}"),
            dlq=arn("sqs", f"webhook-dlq-{suffix}"),
            publish_failures=arn("sqs", f"webhook-publish-failures-{suffix}"),
            functions={f: arn("lambda", f"function:webhook-{f}-{suffix}") for f in FUNCTIONS},
            roles={f: f"arn:aws:iam::{account}:role/webhook-{f}-{suffix}" for f in FUNCTIONS},
            log_groups={
                f: arn("logs", f"log-group:/aws/lambda/webhook-{f}-{suffix}") for f in FUNCTIONS
            },
            reconciler=(
                ReconcilerStack(
                    function=arn("lambda", f"function:webhook-{RECONCILER}-{suffix}"),
                    role=f"arn:aws:iam::{account}:role/webhook-{RECONCILER}-{suffix}",
                    log_group=arn("logs", f"log-group:/aws/lambda/webhook-{RECONCILER}-{suffix}"),
                    rule=arn("events", f"rule/webhook-reconcile-schedule-{suffix}"),
                    api_keys=tuple(
                        arn("ssm", f"parameter/webhook-processor/{suffix}/api-keys/{provider}")
                        for provider in api_keys
                    ),
                )
                if api_keys
                else None
            ),
        )

    @property
    def secrets_path(self) -> str:
        return f"/webhook-processor/{self.suffix}/secrets"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def person(self, who: str) -> str:
        """The IAM identity a person acts as in the rows; the documented policy is attached to it."""
        return f"arn:aws:iam::{self.account}:role/webhook-{who}"

    def principal(self, caller: str) -> str:
        if caller in FUNCTIONS:
            return self.roles[caller]
        if caller == EDGE and self.edge is not None:
            return self.edge.role
        if caller == RECONCILER and self.reconciler is not None:
            return self.reconciler.role
        services = {
            EVENTS: "events.amazonaws.com",
            LOGS: f"logs.{self.region}.amazonaws.com",
            ALARMS: "cloudwatch.amazonaws.com",
            CLOUDFRONT: "cloudfront.amazonaws.com",
            ANYONE: "*",
        }
        return services.get(caller) or self.person(caller)

    @property
    def alias(self) -> str:
        return self.arn("kms", f"alias/webhook-processor-{self.suffix}")

    def code_parameters(self) -> list[str]:
        """The parameters the receiver reads: one per provider the application ships."""
        return [self.arn("ssm", f"parameter{self.secrets_path}/{p}") for p in default_providers()]


# -- rows ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One call AWS authorises."""

    phase: str  # deploy | run | operate
    caller: str
    action: str
    resource: str
    doc: str
    why: str
    context: dict[str, str] = field(default_factory=dict)
    #: The row whose grant authorises this call (AWS services using the grant they created).
    via_grant: str | None = None

    @property
    def key(self) -> str:
        return f"{self.caller} {self.action} {self.resource}"


def via(stack: Stack, service: str, **extra: str) -> dict[str, str]:
    """The context of a call a service makes to KMS for the caller."""
    return {
        "kms:ViaService": f"{service}.{stack.region}.amazonaws.com",
        "kms:CallerAccount": stack.account,
        **extra,
    }


def function_rows(stack: Stack, function: str, log_group: str) -> Iterator[Row]:
    """What Lambda does as every function's role: logs and traces, and the environment."""
    stream = f"{log_group}:log-stream:2026/11/28/[$LATEST]0123456789abcdef"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield Row("run", function, action, stream, LAMBDA_LOGS, "the function's log lines")
    for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
        yield Row("run", function, action, "*", LAMBDA_XRAY, "tracing is Active")
    yield Row(
        "run",
        function,
        "kms:Decrypt",
        stack.key,
        LAMBDA_ENV,
        "Lambda decrypts the environment at start",
        via_grant="deployer kms:CreateGrant (lambda)",
    )


def table_context(stack: Stack) -> dict[str, str]:
    """The encryption context DynamoDB gives KMS for the table."""
    return {
        "kms:EncryptionContext:aws:dynamodb:tableName": stack.table.rsplit("/", 1)[-1],
        "kms:EncryptionContext:aws:dynamodb:subscriberId": stack.account,
    }


def table_decrypt(stack: Stack, phase: str, caller: str, why: str) -> Row:
    """``caller`` reads the table (or its stream): DynamoDB decrypts the table's key as it."""
    return Row(
        phase,
        caller,
        "kms:Decrypt",
        stack.key,
        KMS_DYNAMODB,
        why,
        via(stack, "dynamodb", **table_context(stack)),
    )
