"""The Pulumi program under mocks: every property of the design, asserted on resource inputs."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pulumi
import pytest

import webhook_processor.providers
from tests.infra.conftest import SECRETS, SQUARE_URL
from tests.infra.harness import ACCOUNT, REGION, Run, arn_of, run_program
from tests.support.builders import SECRETS as PROVIDER_SECRETS
from webhook_processor.aws import metrics
from webhook_processor.aws.items import TABLE_KEYS
from webhook_processor.providers import default_providers

FUNCTION = "aws:lambda/function:Function"
DAYS_14 = 14 * 24 * 3600


def policy_statements(run: Run, function: str) -> dict[str, dict[str, Any]]:
    policy = run.one("aws:iam/rolePolicy:RolePolicy", f"webhook-{function}-policy")
    return {s["Sid"]: s for s in policy.json_input("policy")["Statement"]}


def unwrap(value: Any) -> Any:
    """Secret inputs reach the mocks wrapped in Pulumi's secret envelope."""
    return value["value"] if isinstance(value, dict) and "value" in value else value


def test_every_resource_is_a_child_of_the_component(bare: Run) -> None:
    assert len(bare.resources) >= 24
    assert {r.parent for r in bare.resources} == {"WebhookProcessor"}


def test_runs_with_no_configuration_and_takes_the_suffix_from_the_stack(bare: Run) -> None:
    assert bare.one("aws:dynamodb/table:Table").inputs["name"] == "webhook-events-test"
    receiver = bare.one(FUNCTION, "webhook-receiver-")
    assert (
        receiver.inputs["environment"]["variables"]["SECRETS_PATH"]
        == "/webhook-processor/test/secrets"
    )


@pytest.mark.parametrize("function", ["receiver", "publisher"])
def test_functions_have_the_original_designs_values(bare: Run, function: str) -> None:
    fn = bare.one(FUNCTION, f"webhook-{function}-")
    assert fn.inputs["architectures"] == ["arm64"]
    assert fn.inputs["runtime"] == "python3.13"
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (1024, 60)
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}
    assert fn.inputs["loggingConfig"] == {
        "logFormat": "JSON",
        "logGroup": f"/aws/lambda/webhook-{function}-test",
    }
    assert "reservedConcurrentExecutions" not in fn.inputs
    env = fn.inputs["environment"]["variables"]
    # The metrics' service dimension names the stack, so two stacks' alarms stay apart.
    assert env["POWERTOOLS_SERVICE_NAME"] == "webhook-processor-test"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == metrics.NAMESPACE
    assert env["LOG_LEVEL"] == "INFO"
    assert env["ENVIRONMENT_SUFFIX"] == "test"


def test_handlers_name_real_functions_of_the_package(bare: Run) -> None:
    handlers = {fn.name: fn.inputs["handler"] for fn in bare.of_type(FUNCTION)}
    assert set(handlers) == {"webhook-receiver-test", "webhook-publisher-test"}
    for handler in handlers.values():
        module, _, attribute = handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute))


def test_receiver_environment_and_dead_letter_queue(bare: Run) -> None:
    receiver = bare.one(FUNCTION, "webhook-receiver-")
    env = receiver.inputs["environment"]["variables"]
    assert env["TABLE_NAME"] == "webhook-events-test"
    assert env["SECRETS_PATH"] == "/webhook-processor/test/secrets"
    assert receiver.inputs["deadLetterConfig"] == {
        "targetArn": arn_of("aws:sqs/queue:Queue", "webhook-dlq-test")
    }
    publisher = bare.one(FUNCTION, "webhook-publisher-")
    variables = publisher.inputs["environment"]["variables"]
    assert {
        name: variables[name]
        for name in ("TOPIC_ARN", "TABLE_NAME", "PUBLISH_FAILURES_URL", "HANDOFF_AFTER_SECONDS")
    } == {
        "TOPIC_ARN": arn_of("aws:sns/topic:Topic", "webhook-events-test"),
        "TABLE_NAME": "webhook-events-test",
        "PUBLISH_FAILURES_URL": (
            f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/webhook-publish-failures-test"
        ),
        "HANDOFF_AFTER_SECONDS": "0",
    }
    assert "deadLetterConfig" not in publisher.inputs  # a stream's failures are handed off


def test_reserved_concurrency_only_when_configured(configured: Run) -> None:
    assert {
        fn.name: fn.inputs.get("reservedConcurrentExecutions")
        for fn in configured.of_type(FUNCTION)
    } == {
        # Each function its own: the receiver takes deliveries, the publisher one per shard.
        "webhook-receiver-prod": 50,
        "webhook-publisher-prod": 5,
        # One run per provider at a time is the journal's claim: no share of the pool.
        "webhook-reconciler-prod": None,
    }


@pytest.mark.parametrize(
    ("reserved", "message"),
    [
        (50, "reservedConcurrency is set per function, got 50: pulumi config set --path"),
        ({"receiver": 0}, "reservedConcurrency.receiver must be a whole number of at least 1"),
        ({"receiver": "50"}, "reservedConcurrency.receiver must be a whole number"),
        ({"edge": 5}, "reservedConcurrency.edge is no function"),
        ({"reconciler": 1}, "there is no reconciler: it is made only when apiKeys holds a key"),
        (
            {"receiver": 850, "publisher": 51},
            "reserves 901 concurrent executions in all: Lambda keeps 100 of the account's quota "
            "unreserved, so with lambdaConcurrencyQuota 1000 at most 900 can be reserved",
        ),
    ],
)
def test_reserved_concurrency_is_checked_per_function_at_preview(
    reserved: object, message: str
) -> None:
    with pytest.raises(pulumi.RunError, match=re.escape(message)):
        run_program({"reservedConcurrency": json.dumps(reserved)}, preview=True)


def test_a_small_accounts_quota_leaves_nothing_to_reserve() -> None:
    config = {"reservedConcurrency": json.dumps({"receiver": 1}), "lambdaConcurrencyQuota": "10"}
    with pytest.raises(pulumi.RunError, match="a new account's quota may be 10, where nothing"):
        run_program(config, preview=True)
    config["lambdaConcurrencyQuota"] = "1101"
    assert run_program(config, preview=True).resources


def test_log_groups_are_named_kept_30_days_and_encrypted(bare: Run) -> None:
    groups = bare.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert sorted(g.inputs["name"] for g in groups) == [
        "/aws/lambda/webhook-publisher-test",
        "/aws/lambda/webhook-receiver-test",
    ]
    assert {g.inputs["retentionInDays"] for g in groups} == {30}


def test_async_invoke_config_is_two_retries_for_an_hour(bare: Run) -> None:
    config = bare.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert (config.inputs["maximumRetryAttempts"], config.inputs["maximumEventAgeInSeconds"]) == (
        2,
        3600,
    )
    assert config.inputs["functionName"] == "webhook-receiver-test"


def test_public_function_url_with_both_permissions(bare: Run) -> None:
    url = bare.one("aws:lambda/functionUrl:FunctionUrl")
    assert (url.inputs["authorizationType"], url.inputs["functionName"]) == (
        "NONE",
        "webhook-receiver-test",
    )
    permissions = {
        p.inputs["action"]: p.inputs for p in bare.of_type("aws:lambda/permission:Permission")
    }
    assert permissions["lambda:InvokeFunctionUrl"]["functionUrlAuthType"] == "NONE"
    assert permissions["lambda:InvokeFunction"]["invokedViaFunctionUrl"] is True
    assert {p["principal"] for p in permissions.values()} == {"*"}


def test_stream_mapping_is_bounded_bisects_and_reports_item_failures(bare: Run) -> None:
    mapping = bare.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs
    assert mapping["eventSourceArn"].startswith(
        arn_of("aws:dynamodb/table:Table", "webhook-events-test") + "/stream/"
    )
    assert mapping["functionName"] == arn_of(FUNCTION, "webhook-publisher-test")
    assert mapping["bisectBatchOnFunctionError"] is True
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    # AWS's maximum: the publisher's hand-off after 300 s comes first, not Lambda's give-up.
    assert mapping["maximumRetryAttempts"] == 5
    assert mapping["maximumRecordAgeInSeconds"] == 86400
    assert mapping["startingPosition"] == "TRIM_HORIZON"
    # Only a transaction's new versions invoke the publisher (what the pattern passes is
    # tested on the table's real records in tests/integration/test_lambda.py).
    [only] = mapping["filterCriteria"]["filters"]
    assert json.loads(only["pattern"]) == {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "txn#"}]}}},
    }
    assert mapping["destinationConfig"] == {
        "onFailure": {
            "destinationArn": arn_of("aws:sqs/queue:Queue", "webhook-publish-failures-test")
        }
    }


def test_functions_and_the_stream_mapping_wait_for_their_roles_policies(bare: Run) -> None:
    """A first deploy must not create a function, or a mapping that reads the stream as the
    publisher's role, before the role may do what they do."""
    waits = {
        r.name: set(r.depends_on)
        for r in bare.resources
        if r.typ in (FUNCTION, "aws:lambda/eventSourceMapping:EventSourceMapping")
    }
    assert waits == {
        "webhook-receiver-test": {"webhook-receiver-policy-test", "webhook-receiver-logs-test"},
        "webhook-publisher-test": {"webhook-publisher-policy-test", "webhook-publisher-logs-test"},
        "webhook-publisher-stream-test": {"webhook-publisher-policy-test"},
    }


def test_table_is_on_demand_with_pitr_cmk_stream_and_the_codes_keys(bare: Run) -> None:
    table = bare.one("aws:dynamodb/table:Table").inputs
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {
        "enabled": True,
        "kmsKeyArn": arn_of("aws:kms/key:Key", "webhook-key-test"),
    }
    assert (table["streamEnabled"], table["streamViewType"]) == (True, "NEW_IMAGE")
    assert table["deletionProtectionEnabled"] is False
    assert table["hashKey"] == "pk"
    assert table["attributes"] == [
        {"name": a["AttributeName"], "type": a["AttributeType"]}
        for a in TABLE_KEYS["AttributeDefinitions"]
    ]
    assert [
        (index["name"], index["keySchemas"], index["projectionType"])
        for index in table["globalSecondaryIndexes"]
    ] == [
        (
            expected["IndexName"],
            [
                {"attributeName": k["AttributeName"], "keyType": k["KeyType"]}
                for k in expected["KeySchema"]
            ],
            # Keys only: an entry is one write unit whatever its item's size.
            "KEYS_ONLY",
        )
        for expected in TABLE_KEYS["GlobalSecondaryIndexes"]
    ]
    assert len(table["globalSecondaryIndexes"]) == 2


def test_topics_and_both_failure_queues_keep_14_days(bare: Run) -> None:
    queues = {q.inputs["name"]: q.inputs for q in bare.of_type("aws:sqs/queue:Queue")}
    assert set(queues) == {"webhook-dlq-test", "webhook-publish-failures-test"}
    assert {q["messageRetentionSeconds"] for q in queues.values()} == {DAYS_14}
    topics = {t.inputs["name"] for t in bare.of_type("aws:sns/topic:Topic")}
    assert topics == {"webhook-events-test", "webhook-alarms-test"}


def test_kms_key_rotates_has_a_7_day_window_and_an_alias(bare: Run) -> None:
    key = bare.one("aws:kms/key:Key").inputs
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == 7
    alias = bare.one("aws:kms/alias:Alias").inputs
    assert alias["name"] == "alias/webhook-processor-test"


def test_key_policy_lets_exactly_the_services_that_need_it_use_the_key(bare: Run) -> None:
    policy = {s["Sid"]: s for s in bare.one("aws:kms/key:Key").json_input("policy")["Statement"]}
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert set(policy) == {
        "AccountAdministersTheKey",
        "DeployersUseTheKeyThroughServices",
        "DeployersLetServicesCreateGrants",
        "OperatorsReadThroughServices",
        "PublisherUsesTheKeyThroughItsServices",
        "ReceiverUsesTheKeyThroughItsServices",
        "LogsEncryptThisStacksLogGroups",
        "AlarmsNotifyTheEncryptedAlarmTopic",
    }
    via = {
        name: sorted(s["Condition"]["StringEquals"]["kms:ViaService"])
        for name, s in policy.items()
        if "kms:ViaService" in s.get("Condition", {}).get("StringEquals", {})
    }
    assert via["ReceiverUsesTheKeyThroughItsServices"] == [
        f"{s}.{REGION}.amazonaws.com" for s in ("dynamodb", "sqs", "ssm")
    ]
    assert via["PublisherUsesTheKeyThroughItsServices"] == [
        f"{s}.{REGION}.amazonaws.com" for s in ("dynamodb", "sns", "sqs")
    ]
    assert via["DeployersLetServicesCreateGrants"] == [
        f"{s}.{REGION}.amazonaws.com" for s in ("dynamodb", "lambda")
    ]
    people = [f"{s}.{REGION}.amazonaws.com" for s in ("dynamodb", "lambda", "sns", "sqs", "ssm")]
    assert via["DeployersUseTheKeyThroughServices"] == people
    assert via["OperatorsReadThroughServices"] == people
    receiver = policy["ReceiverUsesTheKeyThroughItsServices"]
    assert receiver["Principal"] == {"AWS": arn_of("aws:iam/role:Role", "webhook-receiver-test")}
    # By default the account's IAM policies decide who deploys and operates.
    assert policy["DeployersUseTheKeyThroughServices"]["Principal"] == {"AWS": [root]}
    assert policy["OperatorsReadThroughServices"]["Principal"] == {"AWS": [root]}
    grants = policy["DeployersLetServicesCreateGrants"]
    assert grants["Action"] == ["kms:CreateGrant"]
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert grants["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT
    logs = policy["LogsEncryptThisStacksLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        ":log-group:/aws/lambda/webhook-*-test"
    )
    alarms = policy["AlarmsNotifyTheEncryptedAlarmTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert policy["AccountAdministersTheKey"]["Principal"] == {"AWS": root}


def test_configured_deployers_and_operators_are_named_in_the_key_policy() -> None:
    deployer, operator = (f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in ("ci", "oncall"))
    run = run_program(
        {
            "deployerPrincipalArns": json.dumps([deployer]),
            "operatorPrincipalArns": json.dumps([operator]),
        }
    )
    policy = {s["Sid"]: s for s in run.one("aws:kms/key:Key").json_input("policy")["Statement"]}
    assert policy["DeployersUseTheKeyThroughServices"]["Principal"] == {"AWS": [deployer]}
    assert policy["DeployersLetServicesCreateGrants"]["Principal"] == {"AWS": [deployer]}
    assert policy["OperatorsReadThroughServices"]["Principal"] == {"AWS": [operator]}


def test_no_secrets_configured_means_no_parameters(bare: Run) -> None:
    assert bare.of_type("aws:ssm/parameter:Parameter") == []


def test_one_secure_string_per_provider_the_application_ships(configured: Run) -> None:
    parameters = {
        p.inputs["name"]: p.inputs
        for p in configured.of_type("aws:ssm/parameter:Parameter")
        if "/secrets/" in p.inputs["name"]
    }
    assert sorted(parameters) == [
        f"/webhook-processor/prod/secrets/{provider}" for provider in sorted(default_providers())
    ]
    for provider in default_providers():
        parameter = parameters[f"/webhook-processor/prod/secrets/{provider}"]
        assert parameter["type"] == "SecureString"
        assert parameter["keyId"] == arn_of("aws:kms/key:Key", "webhook-key-prod")
        assert unwrap(parameter["value"]) == unwrap(SECRETS[f"{provider}SigningSecret"])
    # Several active secrets while one is rotated: the value lists them, comma-separated.
    stripe = parameters["/webhook-processor/prod/secrets/stripe"]
    assert unwrap(stripe["value"]) == f"whsec_stripe_new,{PROVIDER_SECRETS['stripe']}"


def test_the_receiver_is_told_the_square_notification_url_only_when_configured(
    bare: Run, configured: Run
) -> None:
    def environment(run: Run) -> dict[str, str]:
        return dict(run.one(FUNCTION, "webhook-receiver-").inputs["environment"]["variables"])

    assert environment(configured)["SQUARE_NOTIFICATION_URL"] == SQUARE_URL
    assert "SQUARE_NOTIFICATION_URL" not in environment(bare)


def test_a_provider_added_to_the_application_gets_its_secret_with_no_infra_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped = default_providers()
    # The generic adapter once more, under a name the program has never seen.
    providers = {**shipped, "acme": shipped["generic"]}
    monkeypatch.setattr(webhook_processor.providers, "default_providers", lambda: providers)
    run = run_program({"acmeSigningSecret": "whsec_acme"}, secret_keys=("acmeSigningSecret",))
    [parameter] = run.of_type("aws:ssm/parameter:Parameter")
    assert parameter.inputs["name"] == "/webhook-processor/test/secrets/acme"
    assert unwrap(parameter.inputs["value"]) == "whsec_acme"


def test_receiver_may_put_items_read_its_secrets_and_dead_letter(configured: Run) -> None:
    statements = policy_statements(configured, "receiver")
    stores = statements["StoresEventsAndTheirTransactions"]
    assert stores["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert stores["Resource"] == [arn_of("aws:dynamodb/table:Table", "webhook-events-prod")]
    secrets = statements["ReadsSigningSecrets"]
    assert secrets["Action"] == ["ssm:GetParameter"]
    assert secrets["Resource"] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/webhook-processor/prod/secrets/*"
    ]
    assert statements["DeadLettersFailedInvocations"]["Resource"] == [
        arn_of("aws:sqs/queue:Queue", "webhook-dlq-prod")
    ]
    assert statements["ReceiverWritesItsLogs"]["Resource"] == [
        arn_of("aws:cloudwatch/logGroup:LogGroup", "/aws/lambda/webhook-receiver-prod") + ":*"
    ]
    assert set(statements) == {
        "StoresEventsAndTheirTransactions",
        "ReadsSigningSecrets",
        "DeadLettersFailedInvocations",
        "ReceiverWritesItsLogs",
        "TracesToXRay",
    }


def test_publisher_may_read_the_stream_publish_and_hand_off(bare: Run) -> None:
    statements = policy_statements(bare, "publisher")
    [stream] = statements["ReadsTheTableStream"]["Resource"]
    assert statements["ListsStreams"]["Resource"] == ["*"]  # no resource type to scope to
    assert stream.startswith(arn_of("aws:dynamodb/table:Table", "webhook-events-test") + "/stream/")
    assert statements["PublishesEvents"] == {
        "Sid": "PublishesEvents",
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "Resource": [arn_of("aws:sns/topic:Topic", "webhook-events-test")],
    }
    assert statements["MarksHandedOffEvents"]["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    ]
    assert statements["MarksHandedOffEvents"]["Resource"] == [
        arn_of("aws:dynamodb/table:Table", "webhook-events-test")
    ]
    assert statements["HandsOffFailedPublications"]["Resource"] == [
        arn_of("aws:sqs/queue:Queue", "webhook-publish-failures-test")
    ]
    assert set(statements) == {
        "ReadsTheTableStream",
        "ListsStreams",
        "PublishesEvents",
        "MarksHandedOffEvents",
        "HandsOffFailedPublications",
        "PublisherWritesItsLogs",
        "TracesToXRay",
    }


def test_tags_carry_the_configured_owner_and_cost_center(configured: Run) -> None:
    table = configured.one("aws:dynamodb/table:Table").inputs
    assert table["tags"] == {
        "Name": "webhook-events-prod",
        "Environment": "prod",
        "CostCenter": "cc-1234",
        "Owner": "payments-team",
    }


EXPECTED_OUTPUTS = {
    "webhook_url": "https://abc123.lambda-url.us-east-1.on.aws/webhooks/{provider}",
    "table_name": "webhook-events-test",
    "topic_arn": arn_of("aws:sns/topic:Topic", "webhook-events-test"),
    "dlq_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/webhook-dlq-test",
    "publish_failures_url": (
        f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/webhook-publish-failures-test"
    ),
    "kms_key_arn": arn_of("aws:kms/key:Key", "webhook-key-test"),
    "receiver_function_name": "webhook-receiver-test",
    "publisher_function_name": "webhook-publisher-test",
    "alarm_topic_arn": arn_of("aws:sns/topic:Topic", "webhook-alarms-test"),
}


def test_the_stack_exports_exactly_these_outputs(bare: Run) -> None:
    """What the program handed to ``pulumi.export``, not a rebuild of it."""
    assert bare.exports == EXPECTED_OUTPUTS


def test_the_component_registers_the_outputs_the_stack_exports(bare: Run) -> None:
    assert list(bare.registered_outputs) == ["WebhookProcessor"]
    assert bare.registered_outputs["WebhookProcessor"] == EXPECTED_OUTPUTS


# -- the stack's inputs, checked at preview ---------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        ("x" * 47, "is 47 characters: at most 46 fit, since 'webhook-publisher-<suffix>' names"),
        ("prod.eu", "cannot be part of AWS names: use only letters, digits, '-' and '_'"),
        ("pay ments", "cannot be part of AWS names"),
    ],
)
def test_a_suffix_aws_names_cannot_take_fails_the_preview_naming_the_limit(
    suffix: str, message: str
) -> None:
    with pytest.raises(pulumi.RunError, match=re.escape(message)):
        run_program({"environmentSuffix": suffix}, preview=True)


def test_a_stack_name_with_a_dot_needs_an_environment_suffix() -> None:
    with pytest.raises(pulumi.RunError, match="set environmentSuffix"):
        run_program({}, stack="prod.eu", preview=True)
    assert run_program({"environmentSuffix": "prod-eu"}, stack="prod.eu", preview=True).resources


def test_the_longest_suffix_fits_every_name_aws_limits() -> None:
    longest = "s" * 46
    run = run_program({"environmentSuffix": longest})
    limits = {FUNCTION: 64, "aws:iam/role:Role": 64, "aws:sqs/queue:Queue": 80}
    names = {r.inputs["name"]: limits[r.typ] for r in run.resources if r.typ in limits}
    assert "webhook-publisher-" + longest in names
    assert {name: limit for name, limit in names.items() if len(name) > limit} == {}


def test_a_handoff_longer_than_the_mappings_retries_last_fails_the_preview() -> None:
    with pytest.raises(pulumi.RunError, match=re.escape("publishHandoffSeconds must be 0 to 60")):
        run_program({"publishHandoffSeconds": "300"}, preview=True)
