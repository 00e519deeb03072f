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

DEPLOYER: Final = "deployer"
OPERATOR: Final = "operator"
RECEIVER: Final = "receiver"
PUBLISHER: Final = "publisher"
LOGS: Final = "logs"
ALARMS: Final = "cloudwatch"
ANYONE: Final = "anyone"
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
README_DLQ: Final = "README.md#deploy-to-aws (what lands in the dead-letter queue)"


def reference(service: str) -> str:
    """The Service Authorization Reference page of ``service``: its actions and resources."""
    return f"{DOCS}/service-authorization/latest/reference/list_{service}.html"


# -- the stack's names ------------------------------------------------------------------------
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
    functions: dict[str, str]
    roles: dict[str, str]
    log_groups: dict[str, str]
    #: SecureStrings the stack creates (configured secrets only).
    parameters: tuple[str, ...] = ()
    alarms: tuple[str, ...] = ()
    reserved_concurrency: bool = False

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
        if caller == LOGS:
            return f"logs.{self.region}.amazonaws.com"
        if caller == ALARMS:
            return "cloudwatch.amazonaws.com"
        if caller == ANYONE:
            return "*"
        return self.person(caller)

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
    sqs = reference("amazonsqs")
    yield deploys("sqs:CreateQueue", stack.dlq, sqs, "the dead-letter queue")
    yield deploys("sqs:TagQueue", stack.dlq, sqs, "tag the queue")
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


def _sends_to_dlq(stack: Stack, function: str, doc: str, why: str) -> Iterator[Row]:
    yield Row("run", function, "sqs:SendMessage", stack.dlq, doc, why)
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
    yield from _sends_to_dlq(stack, RECEIVER, LAMBDA_DLQ, "a failed async invocation")
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
    yield from _sends_to_dlq(stack, PUBLISHER, LAMBDA_DDB, "a batch that still fails")
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


def operate_rows(stack: Stack) -> Iterator[Row]:
    """What the README's operating procedures do as the operator."""
    sqs, dynamodb, ssm = (
        reference("amazonsqs"),
        reference("amazondynamodb"),
        reference("awssystemsmanager"),
    )
    yield Row("operate", OPERATOR, "sqs:ReceiveMessage", stack.dlq, sqs, "read the dead letters")
    yield Row("operate", OPERATOR, "sqs:DeleteMessage", stack.dlq, sqs, "drop a handled one")
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
    for action in ("dynamodb:GetItem", "dynamodb:Query"):
        yield Row("operate", OPERATOR, action, stack.table, dynamodb, "inspect stored events")
    for action in ("dynamodb:GetShardIterator", "dynamodb:GetRecords"):
        yield Row("operate", OPERATOR, action, stack.stream, README_DLQ, "a failed batch's records")
    yield Row(
        "operate",
        OPERATOR,
        "kms:Decrypt",
        stack.key,
        KMS_DYNAMODB,
        "table and stream under the table key",
        _via(stack, "dynamodb", **_table_context(stack)),
    )
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
