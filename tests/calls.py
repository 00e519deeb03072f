"""Record every AWS call the handlers make, and hold each to the access matrix.

botocore announces each call (``before-parameter-build.<service>.<Operation>``) with its model
and parameters: the IAM action is the service's signing name and the operation
(``dynamodbstreams`` signs as ``dynamodb``), the resource comes from the parameters. A call that
is no row of ``tests/infra/matrix.py`` for the function's role is a permission the deployed role
does not have: adding a boto3 call to a handler without a row (and a policy) fails the suite.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Final

import boto3

from tests.infra.matrix import Stack, rows

#: What each kind of TransactWriteItems entry is authorised as (the DynamoDB developer guide,
#: "Using IAM with DynamoDB transactions").
TRANSACT_OPERATIONS: Final = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass(frozen=True)
class Call:
    action: str
    resource: str


def resource_of(stack: Stack, params: dict[str, Any]) -> str:
    """The ARN a call acts on, from the parameters that name it."""
    if "TableName" in params:
        return stack.arn("dynamodb", f"table/{params['TableName']}")
    for arn_param in ("StreamArn", "TopicArn"):
        if arn_param in params:
            return str(params[arn_param])
    if "QueueUrl" in params:
        return stack.arn("sqs", str(params["QueueUrl"]).rsplit("/", 1)[-1])
    if "Name" in params:
        return stack.arn("ssm", f"parameter{params['Name']}")
    if "ShardIterator" in params:
        return stack.stream  # an iterator is a position in the stack's stream
    return "*"


def record(session: boto3.Session, stack: Stack) -> list[Call]:
    """Every call made through ``session`` from now on (clients made later included)."""
    calls: list[Call] = []

    def announced(model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.signing_name
        if model.name == "TransactWriteItems":
            # AWS authorises each item as the operation it is (a Put needs dynamodb:PutItem).
            for item in params["TransactItems"]:
                [(kind, request)] = item.items()
                operation = TRANSACT_OPERATIONS[kind]
                calls.append(Call(f"{service}:{operation}", resource_of(stack, request)))
            return
        calls.append(Call(f"{service}:{model.name}", resource_of(stack, params)))

    session.events.register("before-parameter-build", announced)
    return calls


def not_in_matrix(calls: list[Call], caller: str, stack: Stack) -> list[Call]:
    """The calls no row of the matrix lets ``caller`` make."""
    allowed = [row for row in rows(stack) if row.caller == caller]
    return [
        call
        for call in calls
        if not any(
            row.action == call.action and fnmatch.fnmatchcase(call.resource, row.resource)
            for row in allowed
        )
    ]
