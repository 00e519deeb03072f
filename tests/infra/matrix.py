"""The access matrix: every call AWS authorises when the stack is deployed, run and operated.

One :class:`Row` per call: who makes it (the deployer, an operator, a function's role, a service
principal, or anyone on the internet), the action, the resource, the request context AWS sends,
and the AWS page that says the call happens. ``tests/infra/test_access.py`` evaluates every row
against the policies the program generates (and, for the people whose IAM policies live outside
the stack, the policies the README documents); ``python -m tests.infra.matrix`` (``make
access-matrix``) prints the table.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from webhook_processor.providers import default_providers
from webhook_processor.storage.dynamodb import RECENCY_INDEX, TRANSACTION_INDEX

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
README_DLQ: Final = "README.md#operating-on-aws (the receiver's dead-letter queue)"
README_HANDOFF: Final = "README.md#operating-on-aws (the publish-failures queue)"


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

    @classmethod
    def named(cls, suffix: str, account: str = "123456789012", region: str = "us-east-1") -> Stack:
        """The stack by convention (``webhook-{role}-{suffix}``), for code that runs on
        resources named that way without the program having made them."""

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
        )

    @property
    def secrets_path(self) -> str:
        return f"/webhook-processor/{self.suffix}/secrets"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def person(self, who: str) -> str:
        """The IAM identity a person acts as in the rows; the README policy is attached to it."""
        return f"arn:aws:iam::{self.account}:role/webhook-{who}"

    def principal(self, caller: str) -> str:
        if caller in FUNCTIONS:
            return self.roles[caller]
        if caller == EDGE and self.edge is not None:
            return self.edge.role
        services = {
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


def _via(stack: Stack, service: str, **extra: str) -> dict[str, str]:
    return {
        "kms:ViaService": f"{service}.{stack.region}.amazonaws.com",
        "kms:CallerAccount": stack.account,
        **extra,
    }


def _table_context(stack: Stack) -> dict[str, str]:
    return {
        "kms:EncryptionContext:aws:dynamodb:tableName": stack.table.rsplit("/", 1)[-1],
        "kms:EncryptionContext:aws:dynamodb:subscriberId": stack.account,
    }


def deploy_rows(stack: Stack) -> Iterator[Row]:
    """What the deployer's ``pulumi up`` makes AWS authorise: each create call as the deployer,
    and the KMS calls services make as the deployer for encrypted resources."""

    def deploys(action: str, resource: str, doc: str, why: str, **context: str) -> Row:
        return Row("deploy", DEPLOYER, action, resource, doc, why, dict(context))

    kms = reference("awskeymanagementservice")
    yield deploys("kms:CreateKey", "*", kms, "create the stack's key")
    yield deploys("kms:TagResource", stack.key, kms, "tag the key")
    yield deploys("kms:EnableKeyRotation", stack.key, kms, "turn rotation on")
    yield deploys("kms:CreateAlias", stack.alias, KMS_ALIAS, "alias: permission on the alias")
    yield deploys("kms:CreateAlias", stack.key, KMS_ALIAS, "alias: permission on the key too")
    iam = reference("awsidentityandaccessmanagementiam")
    for function in FUNCTIONS:
        role = stack.roles[function]
        yield deploys("iam:CreateRole", role, iam, f"the {function}'s role")
        yield deploys("iam:TagRole", role, iam, "tag the role")
        yield deploys("iam:PutRolePolicy", role, iam, "its least-privilege policy")
        yield deploys(
            "iam:PassRole",
            role,
            PASS_ROLE,
            "hand the role to Lambda",
            **{"iam:PassedToService": "lambda.amazonaws.com"},
        )
    dynamodb = reference("amazondynamodb")
    yield deploys("dynamodb:CreateTable", stack.table, dynamodb, "the table, stream and index")
    yield deploys("dynamodb:TagResource", stack.table, dynamodb, "tag the table")
    yield deploys(
        "dynamodb:UpdateContinuousBackups", stack.table, dynamodb, "point-in-time recovery"
    )
    yield deploys(
        "kms:DescribeKey",
        stack.key,
        KMS_DYNAMODB,
        "CreateTable: DynamoDB checks the CMK as the caller",
        **_via(stack, "dynamodb"),
    )
    yield deploys(
        "kms:CreateGrant",
        stack.key,
        KMS_DYNAMODB,
        "CreateTable: DynamoDB creates its table grants as the caller",
        **_via(stack, "dynamodb", **{"kms:GrantIsForAWSResource": "true"}),
    )
    sns = reference("amazonsns")
    for topic in (stack.topic, stack.alarm_topic):
        yield deploys("sns:CreateTopic", topic, sns, "an encrypted topic")
        yield deploys("sns:TagResource", topic, sns, "tag the topic")
    if stack.alarm_email:
        yield deploys("sns:Subscribe", stack.alarm_topic, sns, "alarmEmail: mail the alarms")
    sqs = reference("amazonsqs")
    for queue, what in (
        (stack.dlq, "the dead-letter queue"),
        (stack.publish_failures, "the publish-failures queue"),
    ):
        yield deploys("sqs:CreateQueue", queue, sqs, what)
        yield deploys("sqs:TagQueue", queue, sqs, "tag the queue")
    ssm = reference("awssystemsmanager")
    for parameter in stack.parameters:
        yield deploys("ssm:PutParameter", parameter, ssm, "a signing secret (SecureString)")
        yield deploys("ssm:AddTagsToResource", parameter, ssm, "tag the parameter")
        context = _via(stack, "ssm", **{"kms:EncryptionContext:PARAMETER_ARN": parameter})
        yield deploys(
            "kms:Encrypt", stack.key, SSM_KMS, "PutParameter: SSM encrypts as the caller", **context
        )
        yield deploys(
            "kms:Decrypt", stack.key, SSM_DECRYPT, "the provider reads the value back", **context
        )
    logs = reference("amazoncloudwatchlogs")
    lam = reference("awslambda")
    for function in FUNCTIONS:
        group = stack.log_groups[function]
        yield deploys("logs:CreateLogGroup", group, logs, f"the {function}'s encrypted log group")
        yield deploys("logs:TagResource", group, logs, "tag the log group")
        yield deploys("logs:PutRetentionPolicy", group, logs, "keep logs 30 days")
        arn = stack.functions[function]
        yield deploys("lambda:CreateFunction", arn, lam, f"the {function} function")
        yield deploys("lambda:TagResource", arn, lam, "tag the function")
        if stack.reserved_concurrency:
            yield deploys("lambda:PutFunctionConcurrency", arn, lam, "reserved concurrency")
    yield deploys(
        "kms:CreateGrant",
        stack.key,
        LAMBDA_ENV,
        "CreateFunction with a CMK: Lambda creates its grant as the caller",
        **_via(stack, "lambda", **{"kms:GrantIsForAWSResource": "true"}),
    )
    yield deploys(
        "kms:Encrypt",
        stack.key,
        LAMBDA_ENV,
        "CreateFunction: the environment is encrypted as the caller",
        **_via(stack, "lambda"),
    )
    yield deploys(
        "kms:Decrypt",
        stack.key,
        LAMBDA_ENV,
        "the provider reads the environment back",
        **_via(stack, "lambda"),
    )
    receiver = stack.functions[RECEIVER]
    yield deploys("lambda:CreateFunctionUrlConfig", receiver, lam, "the public URL")
    yield deploys("lambda:AddPermission", receiver, lam, "the URL's two permissions")
    yield deploys("lambda:PutFunctionEventInvokeConfig", receiver, lam, "async retries and age")
    yield deploys(
        "lambda:CreateEventSourceMapping",
        "*",
        lam,
        "the stream feeds the publisher",
        **{"lambda:FunctionArn": stack.functions[PUBLISHER]},
    )
    if stack.edge is not None:
        yield from _edge_deploy_rows(stack, stack.edge)
    cloudwatch = reference("amazoncloudwatch")
    for alarm in stack.alarms:
        yield deploys("cloudwatch:PutMetricAlarm", alarm, cloudwatch, "an alarm")
        yield deploys("cloudwatch:TagResource", alarm, cloudwatch, "tag the alarm")


def _lambda_rows(stack: Stack, function: str) -> Iterator[Row]:
    """What Lambda does as every function's role: logs and traces."""
    stream = f"{stack.log_groups[function]}:log-stream:2026/11/28/[$LATEST]0123456789abcdef"
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


def _sends_to(stack: Stack, function: str, queue: str, doc: str, why: str) -> Iterator[Row]:
    yield Row("run", function, "sqs:SendMessage", queue, doc, why)
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Row(
            "run", function, action, stack.key, SQS_KMS, "the queue is SSE-KMS", _via(stack, "sqs")
        )


def run_rows(stack: Stack) -> Iterator[Row]:
    """What the functions (their code, and Lambda as their role) and AWS services do."""
    dynamodb = reference("amazondynamodb")
    yield Row(
        "run",
        RECEIVER,
        "dynamodb:GetItem",
        stack.table,
        dynamodb,
        "read the transaction's state and version before applying an event to it",
    )
    yield Row(
        "run",
        RECEIVER,
        "dynamodb:PutItem",
        stack.table,
        DDB_TRANSACTIONS,
        "TransactWriteItems: the event once, its transaction's next version (each a Put)",
    )
    yield Row(
        "run",
        RECEIVER,
        "kms:Decrypt",
        stack.key,
        KMS_DYNAMODB,
        "DynamoDB decrypts the table key as the caller",
        _via(stack, "dynamodb", **_table_context(stack)),
    )
    for parameter in stack.code_parameters():
        yield Row("run", RECEIVER, "ssm:GetParameter", parameter, SSM_DECRYPT, "a signing secret")
        yield Row(
            "run",
            RECEIVER,
            "kms:Decrypt",
            stack.key,
            SSM_KMS,
            "GetParameter WithDecryption: SSM decrypts as the caller",
            _via(stack, "ssm", **{"kms:EncryptionContext:PARAMETER_ARN": parameter}),
        )
    yield from _sends_to(stack, RECEIVER, stack.dlq, LAMBDA_DLQ, "a failed async invocation")
    yield from _lambda_rows(stack, RECEIVER)

    for action in ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"):
        yield Row("run", PUBLISHER, action, stack.stream, LAMBDA_DDB, "the event source mapping")
    yield Row("run", PUBLISHER, "dynamodb:ListStreams", "*", LAMBDA_DDB, "the mapping lists")
    yield Row(
        "run",
        PUBLISHER,
        "kms:Decrypt",
        stack.key,
        KMS_DYNAMODB,
        "stream records are under the table key",
        _via(stack, "dynamodb", **_table_context(stack)),
    )
    yield Row("run", PUBLISHER, "sns:Publish", stack.topic, SNS_KMS, "each stored event")
    yield Row(
        "run",
        PUBLISHER,
        "dynamodb:GetItem",
        stack.table,
        README_HANDOFF,
        "read the hand-off mark of an event before publishing an old record",
    )
    yield Row(
        "run",
        PUBLISHER,
        "dynamodb:UpdateItem",
        stack.table,
        README_HANDOFF,
        "mark an event handed off before queueing its key",
    )
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Row(
            "run",
            PUBLISHER,
            action,
            stack.key,
            SNS_KMS,
            "publish to an SSE topic",
            _via(stack, "sns"),
        )
    yield from _sends_to(
        stack, PUBLISHER, stack.publish_failures, README_HANDOFF, "hand an event's key off"
    )
    yield Row(
        "run",
        PUBLISHER,
        "sqs:SendMessage",
        stack.publish_failures,
        LAMBDA_DDB_FAILURES,
        "Lambda's on-failure record of a discarded batch, sent as the function's role",
    )
    yield from _lambda_rows(stack, PUBLISHER)

    for function in FUNCTIONS:
        context = {"kms:EncryptionContext:aws:logs:arn": stack.log_groups[function]}
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            yield Row("run", LOGS, action, stack.key, LOGS_KMS, f"{function} logs", context)
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Row(
            "run",
            ALARMS,
            action,
            stack.key,
            SNS_ALARMS,
            "an alarm notifies the encrypted alarm topic",
            {"aws:SourceAccount": stack.account},
        )
    if stack.edge is None:
        yield from _public_url_rows(stack)
    else:
        yield from _edge_run_rows(stack, stack.edge)


def _public_url_rows(stack: Stack) -> Iterator[Row]:
    receiver = stack.functions[RECEIVER]
    yield Row(
        "run",
        ANYONE,
        "lambda:InvokeFunctionUrl",
        receiver,
        LAMBDA_URL,
        "a provider POSTs to the public URL",
        {"lambda:FunctionUrlAuthType": "NONE"},
    )
    yield Row(
        "run",
        ANYONE,
        "lambda:InvokeFunction",
        receiver,
        LAMBDA_URL,
        "the URL invokes the function",
        {"lambda:InvokedViaFunctionUrl": "true"},
    )


def _edge_deploy_rows(stack: Stack, edge: EdgeStack) -> Iterator[Row]:
    """What the deployer does for the edge: the web ACL and the function in us-east-1, the
    origin access control, the distribution that ties them to the receiver's URL."""

    def deploys(action: str, resource: str, doc: str, why: str, **context: str) -> Row:
        return Row("deploy", DEPLOYER, action, resource, doc, why, dict(context))

    waf, cloudfront, lam = (
        reference("awswafv2"),
        reference("amazoncloudfront"),
        reference("awslambda"),
    )
    yield deploys("wafv2:CreateWebACL", edge.web_acl, waf, "the rate-based rule")
    yield deploys("wafv2:TagResource", edge.web_acl, waf, "tag the web ACL")
    iam = reference("awsidentityandaccessmanagementiam")
    yield deploys("iam:CreateRole", edge.role, iam, "the edge function's role")
    yield deploys("iam:TagRole", edge.role, iam, "tag the role")
    yield deploys("iam:PutRolePolicy", edge.role, iam, "its logs, in any region")
    yield deploys(
        "iam:PassRole",
        edge.role,
        PASS_ROLE,
        "hand the role to Lambda",
        **{"iam:PassedToService": "lambda.amazonaws.com"},
    )
    yield deploys("lambda:CreateFunction", edge.function, lam, "the body-hashing function")
    yield deploys("lambda:TagResource", edge.function, lam, "tag the function")
    yield deploys("lambda:PublishVersion", edge.function, lam, "Lambda@Edge runs a version")
    version = f"{edge.function}:1"
    for action in ("lambda:GetFunction", "lambda:EnableReplication"):
        yield deploys(action, version, EDGE_PERMISSIONS, "associate the version with CloudFront")
    yield deploys(
        "iam:CreateServiceLinkedRole",
        f"arn:aws:iam::{stack.account}:role/aws-service-role/replicator.lambda.amazonaws.com/"
        "AWSServiceRoleForLambdaReplicator",
        EDGE_PERMISSIONS,
        "Lambda@Edge replicates the function (made once per account)",
        **{"iam:AWSServiceName": "replicator.lambda.amazonaws.com"},
    )
    yield deploys("cloudfront:CreateOriginAccessControl", "*", CF_LAMBDA_ORIGIN, "sign to the URL")
    yield deploys("cloudfront:CreateDistribution", "*", cloudfront, "the distribution")
    yield deploys("cloudfront:TagResource", edge.distribution, cloudfront, "tag it")
    yield deploys("wafv2:GetWebACL", edge.web_acl, CF_WAF, "the distribution names the web ACL")


def _edge_run_rows(stack: Stack, edge: EdgeStack) -> Iterator[Row]:
    """CloudFront invokes the URL (origin access control), and the edge function logs."""
    receiver = stack.functions[RECEIVER]
    source = {"aws:SourceArn": edge.distribution}
    yield Row(
        "run",
        CLOUDFRONT,
        "lambda:InvokeFunctionUrl",
        receiver,
        CF_LAMBDA_ORIGIN,
        "the distribution forwards a delivery, signed",
        {"lambda:FunctionUrlAuthType": "AWS_IAM", **source},
    )
    yield Row(
        "run",
        CLOUDFRONT,
        "lambda:InvokeFunction",
        receiver,
        CF_LAMBDA_ORIGIN,
        "the URL invokes the function",
        {"lambda:InvokedViaFunctionUrl": "true", **source},
    )
    name = edge.function.rsplit(":", 1)[-1]
    group = f"arn:aws:logs:eu-west-3:{stack.account}:log-group:/aws/lambda/us-east-1.{name}"
    yield Row("run", EDGE, "logs:CreateLogGroup", group, EDGE_PERMISSIONS, "a replica's logs")
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        stream = f"{group}:log-stream:2026/11/28/[1]0123456789abcdef"
        yield Row("run", EDGE, action, stream, EDGE_PERMISSIONS, "a replica's log lines")


def operate_rows(stack: Stack) -> Iterator[Row]:
    """What the README's operating procedures (``webhook-processor aws ...``) do as the
    operator."""
    sqs, dynamodb, ssm, sns = (
        reference("amazonsqs"),
        reference("amazondynamodb"),
        reference("awssystemsmanager"),
        reference("amazonsns"),
    )
    for queue in (stack.dlq, stack.publish_failures):
        yield Row("operate", OPERATOR, "sqs:GetQueueAttributes", queue, sqs, "count for progress")
        yield Row("operate", OPERATOR, "sqs:ReceiveMessage", queue, sqs, "read the failures")
        yield Row("operate", OPERATOR, "sqs:ChangeMessageVisibility", queue, sqs, "keep a failure")
        yield Row("operate", OPERATOR, "sqs:DeleteMessage", queue, sqs, "drop a redriven one")
    yield Row(
        "operate", OPERATOR, "kms:Decrypt", stack.key, SQS_KMS, "SSE queue", _via(stack, "sqs")
    )
    yield Row(
        "operate",
        OPERATOR,
        "lambda:InvokeFunction",
        stack.functions[RECEIVER],
        README_DLQ,
        "redrive a failed payload",
    )
    yield Row("operate", OPERATOR, "dynamodb:GetItem", stack.table, dynamodb, "read an event")
    yield Row(
        "operate", OPERATOR, "dynamodb:UpdateItem", stack.table, README_HANDOFF, "claim, mark"
    )
    for index in TRANSACTION_INDEX, RECENCY_INDEX:
        yield Row(
            "operate",
            OPERATOR,
            "dynamodb:Query",
            f"{stack.table}/index/{index}",
            dynamodb,
            "aws events, aws transactions",
        )
    yield Row(
        "operate",
        OPERATOR,
        "kms:Decrypt",
        stack.key,
        KMS_DYNAMODB,
        "the table is under the stack's key",
        _via(stack, "dynamodb", **_table_context(stack)),
    )
    yield Row("operate", OPERATOR, "sns:Publish", stack.topic, sns, "publish a handed-off event")
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Row("operate", OPERATOR, action, stack.key, SNS_KMS, "SSE topic", _via(stack, "sns"))
    parameter = stack.code_parameters()[0]
    context = _via(stack, "ssm", **{"kms:EncryptionContext:PARAMETER_ARN": parameter})
    yield Row("operate", OPERATOR, "ssm:PutParameter", parameter, ssm, "rotate a signing secret")
    yield Row(
        "operate", OPERATOR, "kms:Encrypt", stack.key, SSM_KMS, "rotate: SSM encrypts", context
    )
    yield Row("operate", OPERATOR, "ssm:GetParameter", parameter, SSM_DECRYPT, "check a secret")
    yield Row("operate", OPERATOR, "kms:Decrypt", stack.key, SSM_DECRYPT, "SSM decrypts", context)


def rows(stack: Stack) -> list[Row]:
    """The whole matrix for ``stack``."""
    return [*deploy_rows(stack), *run_rows(stack), *operate_rows(stack)]


# -- printing -------------------------------------------------------------------------------------
def table(results: Sequence[tuple[Row, bool, str]]) -> str:
    """The matrix as a text table: row, phase, caller, action, resource, verdict, reason, doc."""
    lines = []
    for number, (row, allowed, reason) in enumerate(results, 1):
        context = ", ".join(f"{k.split(':', 1)[-1]}={v}" for k, v in sorted(row.context.items()))
        lines.append(
            f"{number:>3} {row.phase:<7} {row.caller:<9} {row.action:<34} "
            f"{_short(row.resource):<44} {'ALLOW' if allowed else 'DENY ':<5} {reason}\n"
            f"{'':>12}{row.why}{f' [{context}]' if context else ''}\n{'':>12}{row.doc}"
        )
    return "\n".join(lines)


def _short(arn: str) -> str:
    return arn if len(arn) <= 44 else "..." + arn[-41:]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program under Pulumi's mocks and print the evaluated matrix."""
    from tests.infra.access import PRODUCTION, evaluate_all

    run_config, secret_keys, stack_name = PRODUCTION
    results = evaluate_all(run_config, secret_keys, stack_name)
    print(table(results))
    denied = [row for row, allowed, _ in results if not allowed]
    print(f"\n{len(results)} rows, {len(results) - len(denied)} allowed, {len(denied)} denied")
    return 1 if denied else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
