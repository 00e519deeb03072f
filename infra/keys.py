"""The stack's customer-managed KMS key, its key policy and its alias.

One key, rotation on, encrypts the table, the topics, the dead-letter queue, the parameters,
the log groups and the functions' environment. Who may use it, and how (each statement is
needed by a row of the access matrix in ``tests/infra/test_access.py``):

* the account administers the key (its IAM policies decide who);
* the deploying principals use it only through the services that encrypt with it
  (``kms:ViaService``) and only from this account (``kms:CallerAccount``): DynamoDB, SSM and
  Lambda call KMS as the caller when the program creates the table, a SecureString and a
  function with an encrypted environment. Their ``kms:CreateGrant`` is a statement of its own,
  allowed only for grants AWS services create for their resources;
* the operators read what the key protects (the dead-letter queue, the table, the secrets, the
  functions' environment) through the same services;
* each function's role uses it only through the services its function calls;
* CloudWatch Logs only for this stack's log groups, CloudWatch alarms only for this account.

No ``kms:*`` and no wildcard action names: where AWS documents a wildcard list (CloudWatch
Logs), it is spelled out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from scope import Scope

KMS_ADMIN: Final = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
#: What DynamoDB requires of the principal that selects a customer managed key for a table
#: (``kms:ReEncrypt*`` and ``kms:GenerateDataKey*`` spelled out); SSM and Lambda need subsets.
KMS_DEPLOY: Final = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
#: Reading what the key protects, and writing a rotated secret.
KMS_OPERATE: Final = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
#: Reading and writing through a service: DynamoDB and SSM decrypt, SQS and SNS need a data key.
KMS_FUNCTION: Final = ("kms:Decrypt", "kms:GenerateDataKey")
#: CloudWatch Logs' documented list (``kms:Encrypt*``, ``kms:Decrypt*``, ``kms:ReEncrypt*``,
#: ``kms:GenerateDataKey*``, ``kms:Describe*``), each name written out.
KMS_LOGS: Final = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
#: The services through which people use the key (the issue's list, and the services that
#: hold data under it).
PEOPLE_VIA: Final = ("dynamodb", "lambda", "sns", "sqs", "ssm")
#: The services that create grants for their resources at deploy time.
GRANTS_VIA: Final = ("dynamodb", "lambda")
#: Each function's services: both read the table (DynamoDB decrypts the table key as the
#: caller) and dead-letter to the queue; the receiver reads secrets, the publisher publishes.
FUNCTION_VIA: Final = {
    "receiver": ("dynamodb", "sqs", "ssm"),
    "publisher": ("dynamodb", "sns", "sqs"),
    # Only with apiKeys: it writes the table and reads its keys' SecureStrings.
    "reconciler": ("dynamodb", "ssm"),
}


@dataclass(frozen=True)
class Keys:
    """The stack's key and its alias."""

    key: aws.kms.Key
    alias: aws.kms.Alias


@dataclass(frozen=True)
class KeyUsers:
    """Who uses the key besides AWS services: principal ARNs by role. An empty list means the
    account root, that is: whoever the account's IAM policies allow."""

    deployers: Sequence[str] = ()
    operators: Sequence[str] = ()


def build_keys(
    scope: Scope, function_roles: dict[str, aws.iam.Role], users: KeyUsers | None = None
) -> Keys:
    """The key, usable by ``function_roles`` (by function) through their services, and its
    alias."""
    users = users or KeyUsers()
    names = sorted(function_roles)
    policy = pulumi.Output.all(
        scope.account, scope.region, *(function_roles[name].arn for name in names)
    ).apply(
        lambda values: json.dumps(
            key_policy(
                scope.suffix,
                values[0],
                values[1],
                dict(zip(names, values[2:], strict=True)),
                users,
            )
        )
    )
    key = aws.kms.Key(
        scope.named("key"),
        description=f"webhook-processor {scope.suffix}: table, topics, queue, secrets, logs",
        enable_key_rotation=True,
        deletion_window_in_days=7,
        policy=policy,
        tags=scope.tags("key"),
        opts=scope.child(),
    )
    alias = aws.kms.Alias(
        scope.named("key-alias"),
        name=f"alias/webhook-processor-{scope.suffix}",
        target_key_id=key.key_id,
        opts=scope.child(),
    )
    return Keys(key, alias)


def _via(region: str, services: Sequence[str]) -> list[str]:
    return [f"{service}.{region}.amazonaws.com" for service in services]


def _allow(
    sid: str, principal: dict[str, Any], actions: Sequence[str], **condition: Any
) -> dict[str, Any]:
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": list(actions),
        "Resource": "*",  # in a key policy: this key
    }
    if condition:
        statement["Condition"] = condition
    return statement


def key_policy(
    suffix: str, account: str, region: str, function_roles: dict[str, str], users: KeyUsers
) -> dict[str, Any]:
    """The key policy document, given the ARNs of the functions' roles (by function)."""
    root = f"arn:aws:iam::{account}:root"
    deployers = list(users.deployers) or [root]
    operators = list(users.operators) or [root]
    return {
        "Version": "2012-10-17",
        "Statement": [
            _allow("AccountAdministersTheKey", {"AWS": root}, KMS_ADMIN),
            _allow(
                "DeployersUseTheKeyThroughServices",
                {"AWS": deployers},
                KMS_DEPLOY,
                StringEquals={
                    "kms:CallerAccount": account,
                    "kms:ViaService": _via(region, PEOPLE_VIA),
                },
            ),
            _allow(
                "DeployersLetServicesCreateGrants",
                {"AWS": deployers},
                ["kms:CreateGrant"],
                StringEquals={
                    "kms:CallerAccount": account,
                    "kms:ViaService": _via(region, GRANTS_VIA),
                },
                Bool={"kms:GrantIsForAWSResource": "true"},
            ),
            _allow(
                "OperatorsReadThroughServices",
                {"AWS": operators},
                KMS_OPERATE,
                StringEquals={
                    "kms:CallerAccount": account,
                    "kms:ViaService": _via(region, PEOPLE_VIA),
                },
            ),
            *(
                _allow(
                    f"{function.title()}UsesTheKeyThroughItsServices",
                    {"AWS": role},
                    KMS_FUNCTION,
                    StringEquals={"kms:ViaService": _via(region, FUNCTION_VIA[function])},
                )
                for function, role in sorted(function_roles.items())
            ),
            _allow(
                "LogsEncryptThisStacksLogGroups",
                {"Service": f"logs.{region}.amazonaws.com"},
                KMS_LOGS,
                ArnLike={
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/webhook-*-{suffix}"
                    )
                },
            ),
            _allow(
                "AlarmsNotifyTheEncryptedAlarmTopic",
                {"Service": "cloudwatch.amazonaws.com"},
                ["kms:Decrypt", "kms:GenerateDataKey"],
                StringEquals={"aws:SourceAccount": account},
            ),
        ],
    }
