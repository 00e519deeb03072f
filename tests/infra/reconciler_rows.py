"""The access matrix's rows for the reconciler (only when ``apiKeys`` holds a key): what the
deployer's ``pulumi up`` calls for its key parameters, function, schedule and permission; what
EventBridge and the function's code call at run time; what ``webhook-processor aws reconcile``
calls as the operator."""

from __future__ import annotations

from collections.abc import Iterator

from tests.infra.stack import (
    DDB_TRANSACTIONS,
    DEPLOYER,
    DOCS_RECONCILE,
    EVENTS,
    EVENTS_SCHEDULE_LAMBDA,
    LOGS,
    LOGS_KMS,
    OPERATOR,
    PASS_ROLE,
    RECONCILER,
    SSM_DECRYPT,
    SSM_KMS,
    ReconcilerStack,
    Row,
    Stack,
    function_rows,
    reference,
    table_decrypt,
    via,
)


def reconciler_deploy_rows(stack: Stack, reconciler: ReconcilerStack) -> Iterator[Row]:
    """Create, read back, tag and (on ``pulumi destroy``) delete what the reconciler adds."""

    def deploys(action: str, resource: str, doc: str, why: str, **context: str) -> Row:
        return Row("deploy", DEPLOYER, action, resource, doc, why, dict(context))

    yield deploys(
        "iam:PassRole",
        reconciler.role,
        PASS_ROLE,
        "hand the role to Lambda",
        **{"iam:PassedToService": "lambda.amazonaws.com"},
    )
    for parameter in reconciler.api_keys:
        context = via(stack, "ssm", **{"kms:EncryptionContext:PARAMETER_ARN": parameter})
        yield deploys(
            "kms:Encrypt", stack.key, SSM_KMS, "PutParameter: SSM encrypts as the caller", **context
        )
        yield deploys(
            "kms:Decrypt", stack.key, SSM_DECRYPT, "the provider reads the key back", **context
        )


def reconciler_run_rows(stack: Stack, reconciler: ReconcilerStack) -> Iterator[Row]:
    """EventBridge runs the function; its code stores what it recovers and keeps its journal."""
    yield Row(
        "run",
        EVENTS,
        "lambda:InvokeFunction",
        reconciler.function,
        EVENTS_SCHEDULE_LAMBDA,
        "the schedule's rule invokes the reconciler (its resource policy, from that rule only)",
        {"aws:SourceArn": reconciler.rule},
    )
    dynamodb = reference("amazondynamodb")
    yield Row(
        "run",
        RECONCILER,
        "dynamodb:GetItem",
        stack.table,
        dynamodb,
        "read a transaction's version before storing a recovered event; read the journal",
    )
    yield Row(
        "run",
        RECONCILER,
        "dynamodb:PutItem",
        stack.table,
        DDB_TRANSACTIONS,
        "TransactWriteItems: the recovered event once, its transaction's next version",
    )
    yield Row(
        "run",
        RECONCILER,
        "dynamodb:UpdateItem",
        stack.table,
        DOCS_RECONCILE,
        "the journal: claim a provider, advance its high-water mark, release the claim",
    )
    yield table_decrypt(stack, "run", RECONCILER, "DynamoDB decrypts the table key as the caller")
    for parameter in reconciler.api_keys:
        yield Row("run", RECONCILER, "ssm:GetParameter", parameter, SSM_DECRYPT, "an API key")
        yield Row(
            "run",
            RECONCILER,
            "kms:Decrypt",
            stack.key,
            SSM_KMS,
            "GetParameter WithDecryption: SSM decrypts as the caller",
            via(stack, "ssm", **{"kms:EncryptionContext:PARAMETER_ARN": parameter}),
        )
    yield from function_rows(stack, RECONCILER, reconciler.log_group)
    context = {"kms:EncryptionContext:aws:logs:arn": reconciler.log_group}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Row("run", LOGS, action, stack.key, LOGS_KMS, "reconciler logs", context)


def reconciler_operate_rows(stack: Stack, reconciler: ReconcilerStack) -> Iterator[Row]:
    """``webhook-processor aws reconcile``: a synchronous invocation of the function."""
    yield Row(
        "operate",
        OPERATOR,
        "lambda:InvokeFunction",
        reconciler.function,
        DOCS_RECONCILE,
        "aws reconcile: run the reconciler for one provider and window",
    )
