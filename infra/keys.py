"""The stack's customer-managed KMS key, its key policy and its alias.

One key, rotation on, encrypts the table, the topics, the dead-letter queue, the parameters,
the log groups and the functions' environment. Its policy lets the account administer the key,
the functions' roles use it only through the services they call (``kms:ViaService``), and the
AWS services use it only for this account (and, for CloudWatch Logs, this stack's log groups).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from scope import Scope

KMS_USE: Final = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
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
    "kms:ListAliases",
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
#: The services through which the functions' roles may use the key.
VIA_SERVICES: Final = ("dynamodb", "sns", "sqs", "ssm", "lambda")


@dataclass(frozen=True)
class Keys:
    """The stack's key and its alias."""

    key: aws.kms.Key
    alias: aws.kms.Alias


def build_keys(scope: Scope, function_roles: Sequence[aws.iam.Role]) -> Keys:
    """The key, usable by ``function_roles`` through their services, and its alias."""
    policy = pulumi.Output.all(
        scope.account, scope.region, *(role.arn for role in function_roles)
    ).apply(lambda values: json.dumps(key_policy(scope.suffix, *values)))
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


def key_policy(suffix: str, account: str, region: str, *function_roles: str) -> dict[str, Any]:
    """The key policy document, given the ARNs of the functions' roles."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": list(KMS_ADMIN),
                "Resource": "*",
            },
            {
                "Sid": "FunctionsUseTheKeyThroughTheirServices",
                "Effect": "Allow",
                "Principal": {"AWS": list(function_roles)},
                "Action": list(KMS_USE),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [f"{s}.{region}.amazonaws.com" for s in VIA_SERVICES]
                    }
                },
            },
            {
                "Sid": "LogsEncryptThisStacksLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": list(KMS_USE),
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/"
                            f"webhook-*-{suffix}"
                        )
                    }
                },
            },
            {
                "Sid": "AlarmsAndTopicsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "sns.amazonaws.com"]},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
        ],
    }
