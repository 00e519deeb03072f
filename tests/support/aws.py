"""A fake AWS environment: no test reaches a real account, and resources on moto are shaped as
the Pulumi program deploys them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from webhook_processor.aws.items import TABLE_KEYS

#: Fake credentials and a fixed region for boto3, the stream endpoint quirk moto needs
#: (botocore would send stream calls to an account-id endpoint moto does not intercept), and
#: Powertools without X-Ray. Applied by ``tests/conftest.py`` before anything imports boto3.
FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    # What the program sets for a stack named "test" (``metrics.service_name``).
    "POWERTOOLS_SERVICE_NAME": "webhook-processor-test",
}
#: Variables that would point boto3 at a real account or endpoint.
REAL_ACCOUNT_VARIABLES = ("AWS_PROFILE", "AWS_ENDPOINT_URL")

TABLE = "webhook-events-test"
SECRETS_PATH = "/webhook-processor/test/secrets"


def use_fake_environment() -> None:
    os.environ.update(FAKE_ENVIRONMENT)
    for name in REAL_ACCOUNT_VARIABLES:
        os.environ.pop(name, None)


def create_table(session: boto3.Session, name: str = TABLE) -> dict[str, Any]:
    client = session.client("dynamodb")
    response = client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        **TABLE_KEYS,
    )
    return dict(response["TableDescription"])


@dataclass(frozen=True)
class Resources:
    """What the receiver and publisher need, on moto: table, secrets, topic, the two queues the
    program makes, and a subscriber."""

    topic_arn: str
    #: The subscriber's queue.
    queue_url: str
    dlq_url: str
    publish_failures_url: str


def create_resources(session: boto3.Session, secrets: dict[str, str]) -> Resources:
    """The table, one SecureString per provider secret, the topic, the receiver's dead-letter
    queue and the publish-failures queue, and an SQS subscriber that receives raw messages with
    their attributes."""
    create_table(session)
    ssm = session.client("ssm")
    for provider, secret in secrets.items():
        ssm.put_parameter(Name=f"{SECRETS_PATH}/{provider}", Value=secret, Type="SecureString")
    topic_arn = session.client("sns").create_topic(Name="webhook-events-test")["TopicArn"]
    sqs = session.client("sqs")
    queue_url = sqs.create_queue(QueueName="subscriber-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    session.client("sns").subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    dlq_url = sqs.create_queue(QueueName="webhook-dlq-test")["QueueUrl"]
    failures_url = sqs.create_queue(QueueName="webhook-publish-failures-test")["QueueUrl"]
    return Resources(topic_arn, queue_url, dlq_url, failures_url)


def read_stream(streams: Any, arn: str) -> list[dict[str, Any]]:
    """Every record of the stream ``arn`` from its start, as an event source mapping reads it
    (``streams`` is a ``dynamodbstreams`` client)."""
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return [{**record, "eventSourceARN": arn} for record in records]


def as_lambda_sends(record: dict[str, Any]) -> dict[str, Any]:
    """A stream record as JSON, as Lambda sends it to a function and matches its event
    filters on it (the SDK reads the record's time as a datetime, Lambda sends a number)."""
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    return {
        **record,
        "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": created.timestamp()},
    }
