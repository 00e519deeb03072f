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


#: Operations whose IAM action has another name (the Service Authorization Reference).
ACTIONS: Final = {"lambda:Invoke": "lambda:InvokeFunction"}


@dataclass(frozen=True)
class Call:
    action: str
    resource: str


#: Where each service's calls name their resource: the parameter, and the ARN it makes.
_NAMED_BY: Final = (
    ("FunctionName", lambda stack, name: stack.arn("lambda", f"function:{name}")),
    ("StreamArn", lambda stack, arn: str(arn)),
    ("TopicArn", lambda stack, arn: str(arn)),
    ("QueueUrl", lambda stack, url: stack.arn("sqs", str(url).rsplit("/", 1)[-1])),
    ("Name", lambda stack, name: stack.arn("ssm", f"parameter{name}")),
    # An iterator is a position in the stack's stream.
    ("ShardIterator", lambda stack, _: stack.stream),
)


def resource_of(stack: Stack, params: dict[str, Any]) -> str:
    """The ARN a call acts on, from the parameters that name it."""
    if "TableName" in params:
        table = stack.arn("dynamodb", f"table/{params['TableName']}")
        # A query of an index is authorised on the index.
        return f"{table}/index/{params['IndexName']}" if "IndexName" in params else table
    for parameter, arn in _NAMED_BY:
        if parameter in params:
            return arn(stack, params[parameter])
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
        if model.name == "BatchGetItem":
            # Authorised on each table it reads.
            for table in params["RequestItems"]:
                calls.append(
                    Call(f"{service}:BatchGetItem", resource_of(stack, {"TableName": table}))
                )
            return
        action = f"{service}:{model.name}"
        calls.append(Call(ACTIONS.get(action, action), resource_of(stack, params)))

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
