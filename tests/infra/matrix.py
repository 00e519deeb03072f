"""The access matrix: every call AWS authorises when the stack is deployed, run and operated.

One :class:`Row` per call: who makes it (the deployer, an operator, a function's role, a service
principal, or anyone on the internet), the action, the resource, the request context AWS sends,
and the AWS page that says the call happens. ``tests/infra/test_access.py`` evaluates every row
against the policies the program generates (and, for the people whose IAM policies live outside
the stack, the policies docs/policies documents); ``python -m tests.infra.matrix`` (``make
access-matrix``) prints the table. What rows are made of is in ``tests/infra/stack.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

from tests.infra.edge_rows import edge_deploy_rows, edge_run_rows, public_url_rows
from tests.infra.operate_rows import operate_rows
from tests.infra.provider_rows import provider_rows
from tests.infra.reconciler_rows import (
    reconciler_deploy_rows,
    reconciler_operate_rows,
    reconciler_run_rows,
)
from tests.infra.stack import (
    ALARMS,
    DDB_TRANSACTIONS,
    DEPLOYER,
    DOCS_HANDOFF,
    EDGE,
    FUNCTIONS,
    KMS_DYNAMODB,
    LAMBDA_DDB,
    LAMBDA_DDB_FAILURES,
    LAMBDA_DLQ,
    LAMBDA_ENV,
    LOGS,
    LOGS_KMS,
    OPERATOR,
    PASS_ROLE,
    PUBLISHER,
    RECEIVER,
    RECONCILER,
    SNS_ALARMS,
    SNS_KMS,
    SQS_KMS,
    SSM_DECRYPT,
    SSM_KMS,
    EdgeStack,
    Row,
    Stack,
    function_rows,
    reference,
    table_decrypt,
    via,
)

#: Names the rest of the suite takes from here, with the rows.
__all__ = [
    "DEPLOYER",
    "EDGE",
    "FUNCTIONS",
    "OPERATOR",
    "PUBLISHER",
    "RECEIVER",
    "RECONCILER",
    "EdgeStack",
    "Row",
    "Stack",
    "deploy_rows",
    "main",
    "operate_rows",
    "rows",
    "run_rows",
    "table",
]


def deploy_rows(stack: Stack) -> Iterator[Row]:
    """What the deployer's ``pulumi up``, ``refresh`` and ``destroy`` make AWS authorise: every
    call the AWS provider makes for each resource (``tests/infra/provider_calls.py``, from its
    code), and what services do as the deployer meanwhile (KMS for encrypted resources, handing
    a role to Lambda)."""

    def deploys(action: str, resource: str, doc: str, why: str, **context: str) -> Row:
        return Row("deploy", DEPLOYER, action, resource, doc, why, dict(context))

    yield from provider_rows(stack.created)
    for function in FUNCTIONS:
        yield deploys(
            "iam:PassRole",
            stack.roles[function],
            PASS_ROLE,
            "hand the role to Lambda",
            **{"iam:PassedToService": "lambda.amazonaws.com"},
        )
    yield deploys(
        "kms:DescribeKey",
        stack.key,
        KMS_DYNAMODB,
        "CreateTable: DynamoDB checks the CMK as the caller",
        **via(stack, "dynamodb"),
    )
    yield deploys(
        "kms:CreateGrant",
        stack.key,
        KMS_DYNAMODB,
        "CreateTable: DynamoDB creates its table grants as the caller",
        **via(stack, "dynamodb", **{"kms:GrantIsForAWSResource": "true"}),
    )
    for parameter in stack.parameters:
        context = via(stack, "ssm", **{"kms:EncryptionContext:PARAMETER_ARN": parameter})
        yield deploys(
            "kms:Encrypt", stack.key, SSM_KMS, "PutParameter: SSM encrypts as the caller", **context
        )
        yield deploys(
            "kms:Decrypt",
            stack.key,
            SSM_DECRYPT,
            "the provider reads the value back (GetParameter WithDecryption, every refresh)",
            **context,
        )
    yield deploys(
        "kms:CreateGrant",
        stack.key,
        LAMBDA_ENV,
        "CreateFunction with a CMK: Lambda creates its grant as the caller",
        **via(stack, "lambda", **{"kms:GrantIsForAWSResource": "true"}),
    )
    yield deploys(
        "kms:Encrypt",
        stack.key,
        LAMBDA_ENV,
        "CreateFunction: the environment is encrypted as the caller",
        **via(stack, "lambda"),
    )
    yield deploys(
        "kms:Decrypt",
        stack.key,
        LAMBDA_ENV,
        "the provider reads the environment back",
        **via(stack, "lambda"),
    )
    if stack.edge is not None:
        yield from edge_deploy_rows(stack, stack.edge)
    if stack.reconciler is not None:
        yield from reconciler_deploy_rows(stack, stack.reconciler)


def _sends_to(stack: Stack, function: str, queue: str, doc: str, why: str) -> Iterator[Row]:
    yield Row("run", function, "sqs:SendMessage", queue, doc, why)
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Row(
            "run", function, action, stack.key, SQS_KMS, "the queue is SSE-KMS", via(stack, "sqs")
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
    yield table_decrypt(stack, "run", RECEIVER, "DynamoDB decrypts the table key as the caller")
    for parameter in stack.code_parameters():
        yield Row("run", RECEIVER, "ssm:GetParameter", parameter, SSM_DECRYPT, "a signing secret")
        yield Row(
            "run",
            RECEIVER,
            "kms:Decrypt",
            stack.key,
            SSM_KMS,
            "GetParameter WithDecryption: SSM decrypts as the caller",
            via(stack, "ssm", **{"kms:EncryptionContext:PARAMETER_ARN": parameter}),
        )
    yield from _sends_to(stack, RECEIVER, stack.dlq, LAMBDA_DLQ, "a failed async invocation")
    yield from function_rows(stack, RECEIVER, stack.log_groups[RECEIVER])

    for action in ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"):
        yield Row("run", PUBLISHER, action, stack.stream, LAMBDA_DDB, "the event source mapping")
    yield Row("run", PUBLISHER, "dynamodb:ListStreams", "*", LAMBDA_DDB, "the mapping lists")
    yield table_decrypt(stack, "run", PUBLISHER, "stream records are under the table key")
    yield Row("run", PUBLISHER, "sns:Publish", stack.topic, SNS_KMS, "each stored event")
    yield Row(
        "run",
        PUBLISHER,
        "dynamodb:GetItem",
        stack.table,
        DOCS_HANDOFF,
        "read the hand-off mark of an event before publishing an old record",
    )
    yield Row(
        "run",
        PUBLISHER,
        "dynamodb:UpdateItem",
        stack.table,
        DOCS_HANDOFF,
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
            via(stack, "sns"),
        )
    yield from _sends_to(
        stack, PUBLISHER, stack.publish_failures, DOCS_HANDOFF, "hand an event's key off"
    )
    yield Row(
        "run",
        PUBLISHER,
        "sqs:SendMessage",
        stack.publish_failures,
        LAMBDA_DDB_FAILURES,
        "Lambda's on-failure record of a discarded batch, sent as the function's role",
    )
    yield from function_rows(stack, PUBLISHER, stack.log_groups[PUBLISHER])

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
        yield from public_url_rows(stack)
    else:
        yield from edge_run_rows(stack, stack.edge)
    if stack.reconciler is not None:
        yield from reconciler_run_rows(stack, stack.reconciler)


def rows(stack: Stack) -> list[Row]:
    """The whole matrix for ``stack``."""
    extra = [] if stack.reconciler is None else reconciler_operate_rows(stack, stack.reconciler)
    return [*deploy_rows(stack), *run_rows(stack), *operate_rows(stack), *extra]


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
