"""Where events and secrets rest: the table, the two topics, two queues, the parameters (the
signing secrets, and the events-API keys when ``apiKeys`` holds any).

Every one is encrypted with the stack's key. The table's keys and index come from the
application's own DynamoDB definition (``TABLE_KEYS``), so the store and the table cannot
disagree.

Two queues, because what fails in each function lives differently: the receiver's dead-letter
queue holds failed asynchronous invocations, each a complete payload to invoke the receiver
with again; the publish-failures queue holds the keys of stored events the publisher gave up
on, which the redrive re-reads from the table (the source of truth). Both keep a message 14
days, SQS's longest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws

from scope import Scope
from webhook_processor.aws.items import TABLE_KEYS

DLQ_RETENTION_SECONDS: Final = 14 * 24 * 3600


@dataclass(frozen=True)
class Data:
    """The stores the functions read and write, and where the signing secrets are."""

    #: Every event, stored once; its stream feeds the publisher.
    table: aws.dynamodb.Table
    #: What the publisher publishes each stored event to.
    topic: aws.sns.Topic
    #: What the alarms notify.
    alarm_topic: aws.sns.Topic
    #: Failed asynchronous invocations of the receiver: their payloads.
    dead_letters: aws.sqs.Queue
    #: Events the publisher handed off: their keys.
    publish_failures: aws.sqs.Queue
    #: One SecureString per configured signing secret, under ``secrets_path``.
    parameters: list[aws.ssm.Parameter]
    secrets_path: str
    #: One SecureString per events-API key (``apiKeys``), by provider, under ``api_keys_path``.
    api_keys: dict[str, aws.ssm.Parameter]
    api_keys_path: str


def build_data(
    scope: Scope,
    key: aws.kms.Key,
    signing_secrets: Mapping[str, pulumi.Input[str]],
    api_keys: Mapping[str, pulumi.Input[str]] | None = None,
) -> Data:
    """The stores, and a parameter for each provider in ``signing_secrets`` and in
    ``api_keys``."""
    secrets_path = f"/webhook-processor/{scope.suffix}/secrets"
    api_keys_path = f"/webhook-processor/{scope.suffix}/api-keys"
    table = _table(scope, key)
    topic = _topic(scope, key, "events")
    alarm_topic = _topic(scope, key, "alarms")
    dead_letters = _queue(scope, key, "dlq")
    publish_failures = _queue(scope, key, "publish-failures")
    parameters = [
        _secure_string(
            scope,
            key,
            f"secret-{provider}",
            f"{secrets_path}/{provider}",
            secret,
            f"{provider} webhook signing secret",
        )
        for provider, secret in sorted(signing_secrets.items())
    ]
    keys = {
        provider: _secure_string(
            scope,
            key,
            f"api-key-{provider}",
            f"{api_keys_path}/{provider}",
            value,
            f"{provider} events API key (the reconciler's)",
        )
        for provider, value in sorted((api_keys or {}).items())
    }
    return Data(
        table,
        topic,
        alarm_topic,
        dead_letters,
        publish_failures,
        parameters,
        secrets_path,
        keys,
        api_keys_path,
    )


def _queue(scope: Scope, key: aws.kms.Key, role: str) -> aws.sqs.Queue:
    """A queue that keeps messages 14 days, encrypted with the stack's key."""
    return aws.sqs.Queue(
        scope.named(role),
        name=scope.named(role),
        message_retention_seconds=DLQ_RETENTION_SECONDS,
        kms_master_key_id=key.arn,
        kms_data_key_reuse_period_seconds=300,
        tags=scope.tags(role),
        opts=scope.child(),
    )


def _topic(scope: Scope, key: aws.kms.Key, role: str) -> aws.sns.Topic:
    """An SNS topic encrypted with the stack's key."""
    return aws.sns.Topic(
        scope.named(role),
        name=scope.named(role),
        kms_master_key_id=key.arn,
        tags=scope.tags(role),
        opts=scope.child(),
    )


def _table(scope: Scope, key: aws.kms.Key) -> aws.dynamodb.Table:
    [hash_key] = [k["AttributeName"] for k in TABLE_KEYS["KeySchema"] if k["KeyType"] == "HASH"]
    return aws.dynamodb.Table(
        scope.named("events"),
        name=scope.named("events"),
        billing_mode="PAY_PER_REQUEST",
        hash_key=hash_key,
        attributes=[
            {"name": a["AttributeName"], "type": a["AttributeType"]}
            for a in TABLE_KEYS["AttributeDefinitions"]
        ],
        global_secondary_indexes=[
            {
                "name": index["IndexName"],
                "key_schemas": [
                    {"attribute_name": k["AttributeName"], "key_type": k["KeyType"]}
                    for k in index["KeySchema"]
                ],
                "projection_type": index["Projection"]["ProjectionType"],
            }
            for index in TABLE_KEYS["GlobalSecondaryIndexes"]
        ],
        stream_enabled=True,
        stream_view_type="NEW_IMAGE",
        point_in_time_recovery={"enabled": True},
        server_side_encryption={"enabled": True, "kms_key_arn": key.arn},
        deletion_protection_enabled=False,
        tags=scope.tags("events"),
        opts=scope.child(),
    )


def _secure_string(  # noqa: PLR0917 - one parameter's every attribute, in its order
    scope: Scope, key: aws.kms.Key, name: str, path: str, value: pulumi.Input[str], description: str
) -> aws.ssm.Parameter:
    """A SecureString under the stack's key: a signing secret or an events-API key."""
    return aws.ssm.Parameter(
        scope.named(name),
        name=path,
        type="SecureString",
        value=value,
        key_id=key.arn,
        description=description,
        tags=scope.tags(name),
        opts=scope.child(),
    )
