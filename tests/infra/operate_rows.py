"""The access matrix's operate rows: what ``webhook-processor aws ...`` and the docs'
procedures (rotating a secret) do as the operator."""

from __future__ import annotations

from collections.abc import Iterator

from tests.infra.stack import (
    DOCS_DLQ,
    DOCS_HANDOFF,
    LAMBDA_DDB_FAILURES,
    OPERATOR,
    RECEIVER,
    SNS_KMS,
    SQS_KMS,
    SSM_DECRYPT,
    SSM_KMS,
    Row,
    Stack,
    reference,
    table_decrypt,
    via,
)
from webhook_processor.aws.items import RECENCY_INDEX, TRANSACTION_INDEX


def operate_rows(stack: Stack) -> Iterator[Row]:
    """What the documented operating procedures (``webhook-processor aws ...``) do as the
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
        "operate", OPERATOR, "kms:Decrypt", stack.key, SQS_KMS, "SSE queue", via(stack, "sqs")
    )
    yield Row(
        "operate",
        OPERATOR,
        "lambda:InvokeFunction",
        stack.functions[RECEIVER],
        DOCS_DLQ,
        "redrive a failed payload",
    )
    yield Row("operate", OPERATOR, "dynamodb:GetItem", stack.table, dynamodb, "read an event")
    yield Row("operate", OPERATOR, "dynamodb:UpdateItem", stack.table, DOCS_HANDOFF, "claim, mark")
    yield Row(
        "operate",
        OPERATOR,
        "dynamodb:BatchGetItem",
        stack.table,
        dynamodb,
        "aws events, aws transactions: the items the keys-only indexes list",
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
        "sqs:SendMessage",
        stack.publish_failures,
        DOCS_HANDOFF,
        "aws redrive: a discarded stream batch's events queued as hand-offs",
    )
    yield Row(
        "operate",
        OPERATOR,
        "kms:GenerateDataKey",
        stack.key,
        SQS_KMS,
        "SSE queue: sending",
        via(stack, "sqs"),
    )
    for action in ("dynamodb:GetShardIterator", "dynamodb:GetRecords"):
        yield Row(
            "operate",
            OPERATOR,
            action,
            stack.stream,
            LAMBDA_DDB_FAILURES,
            "aws redrive: read back the records of a batch the stream mapping discarded",
        )
    yield table_decrypt(stack, "operate", OPERATOR, "the table is under the stack's key")
    yield Row("operate", OPERATOR, "sns:Publish", stack.topic, sns, "publish a handed-off event")
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Row("operate", OPERATOR, action, stack.key, SNS_KMS, "SSE topic", via(stack, "sns"))
    parameter = stack.code_parameters()[0]
    context = via(stack, "ssm", **{"kms:EncryptionContext:PARAMETER_ARN": parameter})
    yield Row("operate", OPERATOR, "ssm:PutParameter", parameter, ssm, "rotate a signing secret")
    yield Row(
        "operate", OPERATOR, "kms:Encrypt", stack.key, SSM_KMS, "rotate: SSM encrypts", context
    )
    yield Row("operate", OPERATOR, "ssm:GetParameter", parameter, SSM_DECRYPT, "check a secret")
    yield Row("operate", OPERATOR, "kms:Decrypt", stack.key, SSM_DECRYPT, "SSM decrypts", context)
