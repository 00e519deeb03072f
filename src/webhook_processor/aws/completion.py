"""What an event writes after its transaction's next version, written by whoever finds it
missing: the invariant that makes storing an event plain conditional puts (see
:mod:`webhook_processor.aws.dynamodb`). The receiver, the reconciler and the publisher (before
it hands an event off: the mark and the redrive need the event's item) share it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from webhook_processor.aws import items
from webhook_processor.aws.errors import dynamodb_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def complete(client: DynamoDBClient, table_name: str, transaction: dict[str, Any]) -> None:
    """Write what the event that made ``transaction``'s version (a transaction item) writes
    after it: the movement it changed, unless a later version wrote that one, then its own
    item, unless it is there. Repeating it changes nothing."""
    event, movement = items.completion(transaction)
    if movement is not None:
        put(
            client,
            table_name,
            movement,
            "attribute_not_exists(version) OR version < :v",
            {":v": {"N": str(movement["version"])}},
        )
    put(client, table_name, event, "attribute_not_exists(pk)")


def put(
    client: DynamoDBClient,
    table_name: str,
    item: dict[str, Any],
    condition: str,
    values: dict[str, Any] | None = None,
) -> bool:
    """A conditional put; False if the condition did not hold."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "Item": items.serialize(item),
        "ConditionExpression": condition,
    }
    if values:
        request["ExpressionAttributeValues"] = values
    with dynamodb_errors("put"):
        try:
            client.put_item(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
    return True
