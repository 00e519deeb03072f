"""The original design's ten integration checks, each read back from the deployed stack.

The same tests run against the emulated deployment (``make test``) and a real stack (``make
test-deployed``): only the ``stack`` fixture differs. Every value comes from a describe/get call,
never from the program's inputs.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.deployed.target import Stack
from tests.support.builders import encode, generic_body, stripe_event, stripe_headers
from webhook_processor.aws.items import TABLE_KEYS, event_key


def _function(stack: Stack, function: str) -> dict[str, Any]:
    configuration: dict[str, Any] = stack.client("lambda").get_function_configuration(
        FunctionName=stack.outputs[f"{function}_function_name"]
    )
    return configuration


def _queue_arn(stack: Stack, output: str) -> str:
    return str(
        stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.outputs[output], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
    )


def test_1_kms_key_rotates(stack: Stack) -> None:
    status = stack.client("kms").get_key_rotation_status(KeyId=stack.outputs["kms_key_arn"])
    assert status["KeyRotationEnabled"] is True


def test_2_table_has_point_in_time_recovery(stack: Stack) -> None:
    backups = stack.client("dynamodb").describe_continuous_backups(
        TableName=stack.outputs["table_name"]
    )["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_3_table_is_encrypted_with_the_stack_key_and_keyed_and_streamed_as_the_code_needs(
    stack: Stack,
) -> None:
    table = stack.client("dynamodb").describe_table(TableName=stack.outputs["table_name"])["Table"]
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["SSEDescription"]["KMSMasterKeyArn"] == stack.outputs["kms_key_arn"]
    assert table["KeySchema"] == TABLE_KEYS["KeySchema"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def test_4_topic_is_encrypted_with_the_stack_key(stack: Stack) -> None:
    sns = stack.client("sns")
    for topic in (stack.outputs["topic_arn"], stack.outputs["alarm_topic_arn"]):
        attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
        assert attributes["KmsMasterKeyId"] == stack.outputs["kms_key_arn"]


def test_5_failure_queues_keep_14_days_encrypted_and_take_each_functions_failures(
    stack: Stack,
) -> None:
    for output in ("dlq_url", "publish_failures_url"):
        attributes = stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.outputs[output], AttributeNames=["All"]
        )["Attributes"]
        assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)
        assert attributes["KmsMasterKeyId"] == stack.outputs["kms_key_arn"]
    dlq = _queue_arn(stack, "dlq_url")
    assert _function(stack, "receiver")["DeadLetterConfig"] == {"TargetArn": dlq}
    [mapping] = stack.client("lambda").list_event_source_mappings(
        FunctionName=_function(stack, "publisher")["FunctionArn"]
    )["EventSourceMappings"]
    # Lambda's record of a discarded batch, the last resort: the hand-off comes first.
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": _queue_arn(stack, "publish_failures_url")}
    }


def test_6_functions_run_as_designed_with_the_environment_the_code_reads(stack: Stack) -> None:
    expected_env = {
        "receiver": {
            "TABLE_NAME": stack.outputs["table_name"],
            "SECRETS_TTL_SECONDS": "300",
        },
        "publisher": {
            "TOPIC_ARN": stack.outputs["topic_arn"],
            "TABLE_NAME": stack.outputs["table_name"],
            "PUBLISH_FAILURES_URL": stack.outputs["publish_failures_url"],
        },
    }
    for function, env in expected_env.items():
        configuration = _function(stack, function)
        assert configuration["Runtime"] == "python3.13"
        assert configuration["Architectures"] == ["arm64"]
        assert (configuration["MemorySize"], configuration["Timeout"]) == (1024, 60)
        assert configuration["TracingConfig"] == {"Mode": "Active"}
        assert configuration["KMSKeyArn"] == stack.outputs["kms_key_arn"]
        assert configuration["LoggingConfig"]["LogFormat"] == "JSON"
        variables = configuration["Environment"]["Variables"]
        assert {name: variables.get(name) for name in env} == env
    receiver = _function(stack, "receiver")["Environment"]["Variables"]
    assert receiver["SECRETS_PATH"].startswith("/webhook-processor/")


def test_7_log_groups_keep_30_days_encrypted(stack: Stack) -> None:
    logs = stack.client("logs")
    for function in ("receiver", "publisher"):
        group_name = _function(stack, function)["LoggingConfig"]["LogGroup"]
        [group] = logs.describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
        assert group["retentionInDays"] == 30
        assert group["kmsKeyId"] == stack.outputs["kms_key_arn"]


def test_8_retries_are_bounded_on_both_paths(stack: Stack) -> None:
    lam = stack.client("lambda")
    invoke = lam.get_function_event_invoke_config(
        FunctionName=stack.outputs["receiver_function_name"]
    )
    assert (invoke["MaximumRetryAttempts"], invoke["MaximumEventAgeInSeconds"]) == (2, 3600)
    [mapping] = lam.list_event_source_mappings(
        FunctionName=_function(stack, "publisher")["FunctionArn"]
    )["EventSourceMappings"]
    assert mapping["MaximumRetryAttempts"] == 5
    assert mapping["MaximumRecordAgeInSeconds"] == 86400
    publisher = _function(stack, "publisher")["Environment"]["Variables"]
    assert publisher["HANDOFF_AFTER_SECONDS"] == "0"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_9_every_resource_carries_the_stacks_tags(stack: Stack) -> None:
    outputs = stack.outputs
    table = stack.client("dynamodb").describe_table(TableName=outputs["table_name"])["Table"]
    found = {
        "table": stack.client("dynamodb").list_tags_of_resource(ResourceArn=table["TableArn"])[
            "Tags"
        ],
        "topic": stack.client("sns").list_tags_for_resource(ResourceArn=outputs["topic_arn"])[
            "Tags"
        ],
        "key": [
            {"Key": t["TagKey"], "Value": t["TagValue"]}
            for t in stack.client("kms").list_resource_tags(KeyId=outputs["kms_key_arn"])["Tags"]
        ],
    }
    for output in ("dlq_url", "publish_failures_url"):
        tags = stack.client("sqs").list_queue_tags(QueueUrl=outputs[output])["Tags"]
        found[output] = [{"Key": k, "Value": v} for k, v in tags.items()]
    for function in ("receiver", "publisher"):
        arn = _function(stack, function)["FunctionArn"]
        tags = stack.client("lambda").list_tags(Resource=arn)["Tags"]
        found[function] = [{"Key": k, "Value": v} for k, v in tags.items()]
    environment = outputs["table_name"].removeprefix("webhook-events-")
    for resource, tags in found.items():
        values = {t["Key"]: t["Value"] for t in tags}
        assert values.keys() >= {"Name", "Environment", "CostCenter", "Owner"}, resource
        assert values["Environment"] == environment, resource


def _subscribe(stack: Stack) -> tuple[Any, str, str]:
    """An SQS queue of the test's own, subscribed to the topic with raw delivery."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName=f"webhook-check-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": stack.outputs["topic_arn"]}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    subscription = sns.subscribe(
        TopicArn=stack.outputs["topic_arn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return sqs, url, subscription


def _messages_about(sqs: Any, url: str, event_id: str, attempts: int = 6) -> list[dict[str, Any]]:
    """Messages for ``event_id``: at once on the emulator, within a minute on AWS."""
    for _ in range(attempts):
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        found = [m for m in batch if event_id in m["Body"]]
        if found:
            return found
    return []


def _secret(stack: Stack, provider: str) -> str:
    path = _function(stack, "receiver")["Environment"]["Variables"]["SECRETS_PATH"]
    return str(
        stack.client("ssm").get_parameter(Name=f"{path}/{provider}", WithDecryption=True)[
            "Parameter"
        ]["Value"]
    )


def test_10_a_signed_webhook_goes_to_the_table_and_out_on_the_topic_with_its_exact_amount(
    stack: Stack,
) -> None:
    sqs, url, subscription = _subscribe(stack)
    try:
        event_id = f"evt_{uuid.uuid4().hex[:16]}"
        body = encode(
            stripe_event(event_id=event_id, id=f"pi_{event_id}", amount=1999, currency="usd")
        )
        headers = stripe_headers(body, at=datetime.now(UTC), secret=_secret(stack, "stripe"))
        status, answer = stack.deliver("stripe", body, headers)
        assert (status, answer) == (200, {"status": "accepted", "event_ids": [event_id]})
        item = stack.client("dynamodb").get_item(
            TableName=stack.outputs["table_name"],
            Key={"pk": {"S": event_key("stripe", event_id)}},
            ConsistentRead=True,
        )["Item"]
        assert item["amount"] == {"N": "19.99"}
        stack.publish_pending()
        [message] = _messages_about(sqs, url, event_id)
        assert '"amount":19.99,' in message["Body"]
        assert json.loads(message["Body"], parse_float=Decimal)["data"]["amount"] == Decimal(
            "19.99"
        )
        assert message["MessageAttributes"]["currency"]["StringValue"] == "USD"
    finally:
        stack.client("sns").unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=url)


def test_a_direct_iam_invocation_of_the_original_payload_is_stored(stack: Stack) -> None:
    """The path without the URL: the original system's generic payload, invoked directly."""
    event_id = f"evt_direct_{uuid.uuid4().hex[:12]}"
    payload = json.loads(json.dumps(generic_body(amount=42.5, event_id=event_id)))
    assert stack.invoke(payload) == {"status": "accepted", "event_ids": [event_id]}
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["table_name"],
        Key={"pk": {"S": event_key("generic", event_id)}},
        ConsistentRead=True,
    )["Item"]
    assert Decimal(item["amount"]["N"]) == Decimal("42.5")


def test_a_later_event_of_a_transaction_and_redeliveries_are_stored_under_the_receivers_role(
    stack: Stack,
) -> None:
    """A transaction's second event (its next version, conditioned on the one read) and a
    redelivery of each: the deployed role allows every call, and the transaction counts both
    events once."""
    transaction = f"pi_{uuid.uuid4().hex[:16]}"
    secret = _secret(stack, "stripe")
    for event_id in (f"evt_{uuid.uuid4().hex[:16]}", f"evt_{uuid.uuid4().hex[:16]}"):
        body = encode(stripe_event(event_id=event_id, id=transaction, amount=1999))
        headers = stripe_headers(body, at=datetime.now(UTC), secret=secret)
        assert stack.deliver("stripe", body, headers)[0] == 200
        assert stack.deliver("stripe", body, headers)[0] == 200  # acknowledged, applied once
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["table_name"],
        Key={"pk": {"S": f"txn#stripe#{transaction}"}},
        ConsistentRead=True,
    )["Item"]
    assert (item["version"], item["event_count"]) == ({"N": "2"}, {"N": "2"})
