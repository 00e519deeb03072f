"""What the AWS provider calls for each resource type the program creates, read from its code.

pulumi-aws is generated from terraform-provider-aws: each resource's create, read (after create
and on every refresh), update, tag and delete functions make the calls below, and the deployer
running ``pulumi up``, ``pulumi refresh`` and ``pulumi destroy`` must be allowed every one. Each
call cites the file and function of ``hashicorp/terraform-provider-aws`` that makes it
(``internal/service/...``; the tags come through the service's ``tags_gen.go`` and the provider's
transparent-tagging interceptor, which lists a resource's tags after every read). Only calls the
program's inputs trigger are listed (a role with no managed policies never attaches one).

A call names the resource AWS authorises it against, in the form AWS uses, by role:

* ``self``: the resource's ARN; ``*``: no resource (AWS accepts only ``*``);
* ``log-stream``: CloudWatch Logs authorises CreateLogGroup, PutRetentionPolicy, DeleteLogGroup
  and AssociateKmsKey against ``log-group:NAME:log-stream:`` (the form of its AccessDenied
  messages; the Logs API reference asks for ``:*`` in policies), tags against the bare ARN;
  DescribeLogGroups lists, and takes ``*``;
* ``role``, ``function``, ``rule``, ``key``: the role a policy belongs to, the function a
  permission, URL or invoke config is of, the rule a target is on, the key an alias points to;
* ``version``: the function's published version; ``ip-sets``: the IP sets a web ACL refers to
  (WAF authorises CreateWebACL and UpdateWebACL on them too).

``tests/infra/test_access.py`` fails when the program creates a resource type missing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

TF: Final = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service"


@dataclass(frozen=True)
class Call:
    """One call the provider makes: when, the IAM action, on what, and where in its code."""

    phase: str  # create | read | update | tag | delete
    action: str
    on: str
    where: str  # file (function)

    @property
    def doc(self) -> str:
        return f"{TF}/{self.where}"


def _calls(where: str, *calls: tuple[str, str, str, str]) -> tuple[Call, ...]:
    """``calls`` of one resource file: (phase, action, on, function)."""
    file = where
    return tuple(
        Call(phase, action, on, f"{file} ({function})") for phase, action, on, function in calls
    )


_TAGS: Final = "tags interceptor (After Read)"

#: Pulumi type -> the calls its terraform resource makes.
PROVIDER_CALLS: Final[dict[str, tuple[Call, ...]]] = {
    "aws:kms/key:Key": _calls(
        "kms/key.go",
        ("create", "kms:CreateKey", "*", "resourceKeyCreate"),
        ("create", "kms:TagResource", "self", "resourceKeyCreate: CreateKeyInput.Tags"),
        ("create", "kms:EnableKeyRotation", "self", "updateKeyRotationEnabled"),
        ("create", "kms:GetKeyRotationStatus", "self", "waitKeyRotationEnabledPropagated"),
        ("create", "kms:GetKeyPolicy", "self", "waitKeyPolicyPropagated"),
        ("read", "kms:DescribeKey", "self", "resourceKeyRead: findKeyByID"),
        ("read", "kms:GetKeyPolicy", "self", "findKeyInfo: findKeyPolicyByTwoPartKey"),
        ("read", "kms:GetKeyRotationStatus", "self", "findKeyInfo: findKeyRotationEnabledByKeyID"),
        ("read", "kms:ListResourceTags", "self", "findKeyInfo: listTags (tags_gen.go)"),
        ("update", "kms:PutKeyPolicy", "self", "resourceKeyUpdate: updateKeyPolicy"),
        ("update", "kms:UpdateKeyDescription", "self", "resourceKeyUpdate: updateKeyDescription"),
        ("tag", "kms:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "kms:ScheduleKeyDeletion", "self", "resourceKeyDelete"),
    ),
    "aws:kms/alias:Alias": _calls(
        "kms/alias.go",
        ("create", "kms:CreateAlias", "self", "resourceAliasCreate"),
        ("create", "kms:CreateAlias", "key", "resourceAliasCreate"),
        ("read", "kms:ListAliases", "*", "resourceAliasRead: findAliasByName"),
        ("update", "kms:UpdateAlias", "self", "resourceAliasUpdate"),
        ("update", "kms:UpdateAlias", "key", "resourceAliasUpdate"),
        ("delete", "kms:DeleteAlias", "self", "resourceAliasDelete"),
        ("delete", "kms:DeleteAlias", "key", "resourceAliasDelete"),
    ),
    "aws:iam/role:Role": _calls(
        "iam/role.go",
        ("create", "iam:CreateRole", "self", "resourceRoleCreate: retryCreateRole"),
        ("create", "iam:TagRole", "self", "resourceRoleCreate: CreateRoleInput.Tags"),
        ("read", "iam:GetRole", "self", "resourceRoleRead: findRoleByName"),
        ("read", "iam:ListRolePolicies", "self", "readRoleInlinePolicies"),
        ("read", "iam:GetRolePolicy", "self", "readRoleInlinePolicies (each inline policy)"),
        ("read", "iam:ListAttachedRolePolicies", "self", "findRoleAttachedPolicies"),
        ("update", "iam:UpdateAssumeRolePolicy", "self", "resourceRoleUpdate"),
        ("tag", "iam:UntagRole", "self", "roleUpdateTags (tags.go)"),
        ("delete", "iam:ListInstanceProfilesForRole", "self", "deleteRoleInstanceProfiles"),
        ("delete", "iam:DeleteRole", "self", "deleteRole"),
    ),
    "aws:iam/rolePolicy:RolePolicy": _calls(
        "iam/role_policy.go",
        ("create", "iam:PutRolePolicy", "role", "resourceRolePolicyPut"),
        ("read", "iam:GetRolePolicy", "role", "resourceRolePolicyRead"),
        ("delete", "iam:DeleteRolePolicy", "role", "resourceRolePolicyDelete"),
    ),
    "aws:dynamodb/table:Table": _calls(
        "dynamodb/table.go",
        ("create", "dynamodb:CreateTable", "self", "resourceTableCreate"),
        ("create", "dynamodb:TagResource", "self", "resourceTableCreate: CreateTableInput.Tags"),
        ("create", "dynamodb:DescribeTable", "self", "waitTableActive, waitGSIActive"),
        ("create", "dynamodb:UpdateContinuousBackups", "self", "updatePITR"),
        (
            "read",
            "dynamodb:DescribeContinuousBackups",
            "self",
            "resourceTableRead, waitPITRUpdated",
        ),
        ("read", "dynamodb:DescribeTimeToLive", "self", "resourceTableRead"),
        ("read", "dynamodb:ListTagsOfResource", "self", _TAGS),
        ("update", "dynamodb:UpdateTable", "self", "resourceTableUpdate"),
        ("tag", "dynamodb:UntagResource", "self", "UpdateTags (tags_gen.go)"),
        ("delete", "dynamodb:DeleteTable", "self", "resourceTableDelete: deleteTable"),
    ),
    "aws:sns/topic:Topic": _calls(
        "sns/topic.go",
        ("create", "sns:CreateTopic", "self", "resourceTopicCreate"),
        ("create", "sns:TagResource", "self", "resourceTopicCreate: CreateTopicInput.Tags"),
        ("create", "sns:SetTopicAttributes", "self", "putTopicAttributes (KmsMasterKeyId)"),
        ("read", "sns:GetTopicAttributes", "self", "resourceTopicRead: findTopicAttributes"),
        ("read", "sns:ListTagsForResource", "self", _TAGS),
        ("tag", "sns:UntagResource", "self", "UpdateTags (tags_gen.go)"),
        ("delete", "sns:DeleteTopic", "self", "resourceTopicDelete"),
    ),
    "aws:sns/topicSubscription:TopicSubscription": _calls(
        "sns/topic_subscription.go",
        ("create", "sns:Subscribe", "topic", "resourceTopicSubscriptionCreate"),
        ("read", "sns:GetSubscriptionAttributes", "topic", "resourceTopicSubscriptionRead"),
        ("update", "sns:SetSubscriptionAttributes", "topic", "putSubscriptionAttributes"),
        ("delete", "sns:Unsubscribe", "topic", "resourceTopicSubscriptionDelete"),
    ),
    "aws:sqs/queue:Queue": _calls(
        "sqs/queue.go",
        ("create", "sqs:CreateQueue", "self", "resourceQueueCreate"),
        ("create", "sqs:TagQueue", "self", "resourceQueueCreate: CreateQueueInput.Tags"),
        (
            "read",
            "sqs:GetQueueAttributes",
            "self",
            "resourceQueueRead, waitQueueAttributesPropagated",
        ),
        ("read", "sqs:ListQueueTags", "self", _TAGS),
        ("update", "sqs:SetQueueAttributes", "self", "resourceQueueUpdate"),
        ("tag", "sqs:UntagQueue", "self", "UpdateTags (tags_gen.go)"),
        ("delete", "sqs:DeleteQueue", "self", "resourceQueueDelete"),
    ),
    "aws:ssm/parameter:Parameter": _calls(
        "ssm/parameter.go",
        ("create", "ssm:PutParameter", "self", "resourceParameterCreate"),
        ("create", "ssm:AddTagsToResource", "self", "resourceParameterCreate: Tags"),
        ("read", "ssm:GetParameter", "self", "resourceParameterRead: findParameterByName"),
        ("read", "ssm:DescribeParameters", "*", "findParameterMetadataByName"),
        ("read", "ssm:ListTagsForResource", "self", _TAGS),
        ("tag", "ssm:RemoveTagsFromResource", "self", "UpdateTags"),
        ("delete", "ssm:DeleteParameter", "self", "resourceParameterDelete"),
    ),
    "aws:cloudwatch/logGroup:LogGroup": _calls(
        "logs/group.go",
        ("create", "logs:CreateLogGroup", "log-stream", "resourceGroupCreate"),
        ("create", "logs:TagResource", "self", "resourceGroupCreate: CreateLogGroupInput.Tags"),
        ("create", "logs:PutRetentionPolicy", "log-stream", "resourceGroupCreate"),
        ("read", "logs:DescribeLogGroups", "*", "resourceGroupRead: findLogGroupByName"),
        ("read", "logs:ListTagsForResource", "self", _TAGS),
        ("update", "logs:AssociateKmsKey", "log-stream", "resourceGroupUpdate"),
        ("tag", "logs:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "logs:DeleteLogGroup", "log-stream", "resourceGroupDelete"),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _calls(
        "cloudwatch/metric_alarm.go",
        ("create", "cloudwatch:PutMetricAlarm", "self", "resourceMetricAlarmCreate"),
        ("create", "cloudwatch:TagResource", "self", "PutMetricAlarmInput.Tags"),
        (
            "read",
            "cloudwatch:DescribeAlarms",
            "self",
            "resourceMetricAlarmRead: findMetricAlarmByName",
        ),
        ("read", "cloudwatch:ListTagsForResource", "self", _TAGS),
        ("tag", "cloudwatch:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "cloudwatch:DeleteAlarms", "self", "resourceMetricAlarmDelete"),
    ),
    "aws:lambda/function:Function": _calls(
        "lambda/function.go",
        ("create", "lambda:CreateFunction", "self", "resourceFunctionCreate: retryFunctionOp"),
        ("create", "lambda:TagResource", "self", "resourceFunctionCreate: Tags"),
        ("read", "lambda:GetFunction", "self", "resourceFunctionRead: findFunction"),
        ("read", "lambda:ListVersionsByFunction", "self", "findLatestFunctionVersionByName"),
        ("read", "lambda:GetFunctionCodeSigningConfig", "self", "resourceFunctionRead"),
        ("update", "lambda:UpdateFunctionConfiguration", "self", "resourceFunctionUpdate"),
        ("update", "lambda:UpdateFunctionCode", "self", "resourceFunctionUpdate"),
        ("tag", "lambda:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "lambda:DeleteFunction", "self", "resourceFunctionDelete"),
    ),
    "aws:lambda/permission:Permission": _calls(
        "lambda/permission.go",
        ("create", "lambda:AddPermission", "function", "resourcePermissionCreate"),
        (
            "read",
            "lambda:GetPolicy",
            "function",
            "resourcePermissionRead: findPolicyStatementByTwoPartKey",
        ),
        ("delete", "lambda:RemovePermission", "function", "resourcePermissionDelete"),
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _calls(
        "lambda/function_event_invoke_config.go",
        (
            "create",
            "lambda:PutFunctionEventInvokeConfig",
            "function",
            "resourceFunctionEventInvokeConfigCreate",
        ),
        (
            "read",
            "lambda:GetFunctionEventInvokeConfig",
            "function",
            "resourceFunctionEventInvokeConfigRead",
        ),
        (
            "delete",
            "lambda:DeleteFunctionEventInvokeConfig",
            "function",
            "resourceFunctionEventInvokeConfigDelete",
        ),
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": _calls(
        "lambda/event_source_mapping.go",
        ("create", "lambda:CreateEventSourceMapping", "*", "resourceEventSourceMappingCreate"),
        ("create", "lambda:TagResource", "self", "resourceEventSourceMappingCreate: Tags"),
        (
            "read",
            "lambda:GetEventSourceMapping",
            "self",
            "resourceEventSourceMappingRead, waitEventSourceMappingCreated",
        ),
        ("read", "lambda:ListTags", "self", "resourceEventSourceMappingRead: listTags (#39849)"),
        ("update", "lambda:UpdateEventSourceMapping", "self", "resourceEventSourceMappingUpdate"),
        ("tag", "lambda:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "lambda:DeleteEventSourceMapping", "self", "resourceEventSourceMappingDelete"),
    ),
    "aws:lambda/functionUrl:FunctionUrl": _calls(
        "lambda/function_url.go",
        ("create", "lambda:CreateFunctionUrlConfig", "function", "resourceFunctionURLCreate"),
        ("read", "lambda:GetFunctionUrlConfig", "function", "resourceFunctionURLRead"),
        ("update", "lambda:UpdateFunctionUrlConfig", "function", "resourceFunctionURLUpdate"),
        ("delete", "lambda:DeleteFunctionUrlConfig", "function", "resourceFunctionURLDelete"),
    ),
    "aws:cloudwatch/eventRule:EventRule": _calls(
        "events/rule.go",
        ("create", "events:PutRule", "self", "resourceRuleCreate: retryPutRule"),
        ("create", "events:TagResource", "self", "resourceRuleCreate: Tags"),
        ("read", "events:DescribeRule", "self", "resourceRuleRead: findRuleByTwoPartKey"),
        ("read", "events:ListTagsForResource", "self", _TAGS),
        ("tag", "events:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "events:DeleteRule", "self", "resourceRuleDelete"),
    ),
    "aws:cloudwatch/eventTarget:EventTarget": _calls(
        "events/target.go",
        ("create", "events:PutTargets", "rule", "resourceTargetCreate"),
        (
            "read",
            "events:ListTargetsByRule",
            "rule",
            "resourceTargetRead: findTargetByThreePartKey",
        ),
        ("delete", "events:RemoveTargets", "rule", "resourceTargetDelete"),
    ),
    "aws:wafv2/ipSet:IpSet": _calls(
        "wafv2/ip_set.go",
        ("create", "wafv2:CreateIPSet", "self", "resourceIPSetCreate"),
        ("create", "wafv2:TagResource", "self", "resourceIPSetCreate: Tags"),
        ("read", "wafv2:GetIPSet", "self", "resourceIPSetRead: findIPSetByThreePartKey"),
        ("read", "wafv2:ListTagsForResource", "self", _TAGS),
        ("update", "wafv2:UpdateIPSet", "self", "resourceIPSetUpdate"),
        ("tag", "wafv2:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "wafv2:DeleteIPSet", "self", "resourceIPSetDelete"),
    ),
    "aws:wafv2/webAcl:WebAcl": _calls(
        "wafv2/web_acl.go",
        ("create", "wafv2:CreateWebACL", "self", "resourceWebACLCreate"),
        ("create", "wafv2:CreateWebACL", "ip-sets", "resourceWebACLCreate (the sets it refers to)"),
        ("create", "wafv2:TagResource", "self", "resourceWebACLCreate: Tags"),
        ("read", "wafv2:GetWebACL", "self", "resourceWebACLRead: findWebACLByThreePartKey"),
        ("read", "wafv2:ListTagsForResource", "self", _TAGS),
        ("update", "wafv2:UpdateWebACL", "self", "resourceWebACLUpdate"),
        ("update", "wafv2:UpdateWebACL", "ip-sets", "resourceWebACLUpdate (the sets it refers to)"),
        ("tag", "wafv2:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "wafv2:DeleteWebACL", "self", "resourceWebACLDelete"),
    ),
    "aws:cloudfront/distribution:Distribution": _calls(
        "cloudfront/distribution.go",
        ("create", "cloudfront:CreateDistribution", "*", "resourceDistributionCreate"),
        ("create", "cloudfront:TagResource", "self", "resourceDistributionCreate: WithTags"),
        (
            "read",
            "cloudfront:GetDistribution",
            "self",
            "resourceDistributionRead, WaitDistributionDeployed",
        ),
        ("read", "cloudfront:ListTagsForResource", "self", _TAGS),
        (
            "update",
            "cloudfront:UpdateDistribution",
            "self",
            "resourceDistributionUpdate, disableDistribution",
        ),
        ("tag", "cloudfront:UntagResource", "self", "updateTags (tags_gen.go)"),
        ("delete", "cloudfront:DeleteDistribution", "self", "resourceDistributionDelete"),
    ),
    "aws:cloudfront/originAccessControl:OriginAccessControl": _calls(
        "cloudfront/origin_access_control.go",
        (
            "create",
            "cloudfront:CreateOriginAccessControl",
            "*",
            "resourceOriginAccessControlCreate",
        ),
        ("read", "cloudfront:GetOriginAccessControl", "self", "resourceOriginAccessControlRead"),
        (
            "update",
            "cloudfront:UpdateOriginAccessControl",
            "self",
            "resourceOriginAccessControlUpdate",
        ),
        (
            "delete",
            "cloudfront:DeleteOriginAccessControl",
            "self",
            "resourceOriginAccessControlDelete",
        ),
    ),
}

#: Calls a function makes only with some inputs: reserved concurrency, a published version.
RESERVED_CONCURRENCY: Final = _calls(
    "lambda/function.go",
    ("create", "lambda:PutFunctionConcurrency", "self", "resourceFunctionCreate"),
    ("update", "lambda:DeleteFunctionConcurrency", "self", "resourceFunctionUpdate"),
)
PUBLISHED: Final = _calls(
    "lambda/function.go",
    ("update", "lambda:PublishVersion", "self", "resourceFunctionUpdate"),
    ("update", "lambda:GetFunctionConfiguration", "version", "waitFunctionConfigurationUpdated"),
)
#: A Function URL open to anyone: the provider adds the public permission itself.
PUBLIC_URL: Final = _calls(
    "lambda/function_url.go",
    ("create", "lambda:AddPermission", "function", "resourceFunctionURLCreate (AuthType NONE)"),
)
