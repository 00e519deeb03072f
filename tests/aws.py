"""AWS resources on moto, shaped as the Pulumi program deploys them."""

from __future__ import annotations

from typing import Any

import boto3

from webhook_processor.storage.dynamodb import TABLE_KEYS

TABLE = "webhook-events-test"


def create_table(session: boto3.Session, name: str = TABLE) -> dict[str, Any]:
    client = session.client("dynamodb")
    response = client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        **TABLE_KEYS,
    )
    return dict(response["TableDescription"])
