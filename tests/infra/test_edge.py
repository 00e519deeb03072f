"""The edge under Pulumi's mocks (``edge: {"enabled": true}``): CloudFront in front of the
receiver, AWS WAF's rate-based rule, origin access control, and a Function URL that answers
the distribution only."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from tests.infra.access import EDGED, EDGED_REGION, policies_of, stack_of
from tests.infra.harness import ACCOUNT, INFRA, RESOURCE_ID, Run, arn_of, run_program
from tests.infra.iam import Request, evaluate
from tests.infra.policy import Context, violations

FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module")
def edged() -> Run:
    config, secret_keys, stack = EDGED
    return run_program(config, secret_keys, stack=stack, region=EDGED_REGION)


def test_the_plain_function_url_stays_the_default(bare: Run) -> None:
    assert bare.of_type("aws:cloudfront/distribution:Distribution") == []
    assert bare.one("aws:lambda/functionUrl:FunctionUrl").inputs["authorizationType"] == "NONE"


def test_behind_the_edge_the_url_answers_only_this_distribution(edged: Run) -> None:
    url = edged.one("aws:lambda/functionUrl:FunctionUrl").inputs
    assert url["authorizationType"] == "AWS_IAM"
    distribution = edged.one("aws:cloudfront/distribution:Distribution").outputs["arn"]
    grants = {p.inputs["action"]: p.inputs for p in edged.of_type(PERMISSION)}
    assert grants == {
        "lambda:InvokeFunctionUrl": {
            "function": "webhook-receiver-prod",
            "action": "lambda:InvokeFunctionUrl",
            "principal": "cloudfront.amazonaws.com",
            "sourceArn": distribution,
            "functionUrlAuthType": "AWS_IAM",
        },
        "lambda:InvokeFunction": {
            "function": "webhook-receiver-prod",
            "action": "lambda:InvokeFunction",
            "principal": "cloudfront.amazonaws.com",
            "sourceArn": distribution,
            "invokedViaFunctionUrl": True,
        },
    }


def test_another_distribution_or_anyone_is_refused_by_the_receivers_policy(edged: Run) -> None:
    stack = stack_of(edged)
    policies = policies_of(edged, stack)
    receiver = stack.functions["receiver"]

    def allowed(principal: str, source: str | None) -> bool:
        context = {"lambda:FunctionUrlAuthType": "AWS_IAM"}
        if source is not None:
            context["aws:SourceArn"] = source
        request = Request(principal, "lambda:InvokeFunctionUrl", receiver, context)
        return evaluate(request, [], policies.receiver).allowed

    assert stack.edge is not None
    assert allowed("cloudfront.amazonaws.com", stack.edge.distribution)
    assert not allowed(
        "cloudfront.amazonaws.com", f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOTHER"
    )
    assert not allowed("*", None)


def test_aws_waf_blocks_an_address_past_the_rate_limit_before_cloudfront(edged: Run) -> None:
    acl = edged.one("aws:wafv2/webAcl:WebAcl").inputs
    assert (acl["scope"], acl["region"], acl["defaultAction"]) == (
        "CLOUDFRONT",
        "us-east-1",
        {"allow": {}},
    )
    *allowed, rule = acl["rules"]
    assert [r["priority"] for r in acl["rules"]] == list(range(len(allowed) + 1))
    assert rule["action"] == {"block": {}}
    assert rule["statement"]["rateBasedStatement"] == {
        "limit": 300,
        "evaluationWindowSec": 300,
        "aggregateKeyType": "IP",
    }
    distribution = edged.one("aws:cloudfront/distribution:Distribution")
    assert distribution.inputs["webAclId"] == edged.one("aws:wafv2/webAcl:WebAcl").outputs["arn"]


def test_the_distribution_signs_to_the_url_and_hashes_each_body_first(edged: Run) -> None:
    distribution = edged.one("aws:cloudfront/distribution:Distribution").inputs
    [origin] = distribution["origins"]
    assert origin["domainName"] == "abc123.lambda-url.us-east-1.on.aws"
    access = edged.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert origin["originAccessControlId"] == "1A2B3C4D5E6F7"
    assert (access.inputs["originAccessControlOriginType"], access.inputs["signingBehavior"]) == (
        "lambda",
        "always",
    )
    behavior = distribution["defaultCacheBehavior"]
    assert "POST" in behavior["allowedMethods"]
    assert behavior["viewerProtocolPolicy"] == "https-only"
    [association] = behavior["lambdaFunctionAssociations"]
    edge = edged.one(FUNCTION, "webhook-edge-")
    assert association == {
        "eventType": "origin-request",
        "lambdaArn": edge.outputs["qualifiedArn"],
        "includeBody": True,
    }
    # Lambda@Edge: us-east-1, x86_64, a published version, no environment, the package's code.
    inputs = edge.inputs
    assert (inputs["region"], inputs["architectures"], inputs["publish"]) == (
        "us-east-1",
        ["x86_64"],
        True,
    )
    assert "environment" not in inputs
    assert inputs["handler"] == "edge_handler.handler"
    trust = json.loads(edged.one("aws:iam/role:Role", "webhook-edge-").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"]["Service"] == [
        "lambda.amazonaws.com",
        "edgelambda.amazonaws.com",
    ]


def test_providers_deliver_to_the_distribution(edged: Run) -> None:
    assert (
        edged.exports["webhook_url"] == "https://d111111abcdef8.cloudfront.net/webhooks/{provider}"
    )


def test_every_edge_resource_passes_the_policy_rules(edged: Run) -> None:
    assert (
        violations(
            edged.resources,
            Context("prod", arn_of("aws:kms/key:Key", "webhook-key-prod", EDGED_REGION)),
        )
        == []
    )


@pytest.mark.parametrize(
    ("edge", "message"),
    [
        ({"enabled": True, "rateLimit": 5}, "edge.rateLimit must be a whole number from 10"),
        ({"enabled": True, "rateWindowSeconds": 30}, "edge.rateWindowSeconds must be one of"),
        ({"enabled": True, "priceClass": "cheap"}, "edge.priceClass must be one of"),
        ({"enable": True}, "edge takes an object with enabled, rateLimit"),
    ],
)
def test_bad_edge_settings_fail_the_preview(edge: dict[str, Any], message: str) -> None:
    with pytest.raises(pulumi.RunError, match=re.escape(message)):
        run_program({"edge": json.dumps(edge)}, preview=True)


def test_the_rate_limit_and_window_come_from_config() -> None:
    run = run_program(
        {"edge": json.dumps({"enabled": True, "rateLimit": 50, "rateWindowSeconds": 60})}
    )
    rule = run.one("aws:wafv2/webAcl:WebAcl").inputs["rules"][-1]
    assert (
        rule["statement"]["rateBasedStatement"]["limit"],
        rule["statement"]["rateBasedStatement"]["evaluationWindowSec"],
    ) == (50, 60)


# -- the allow-list, the alarms in us-east-1, the teardown ------------------------------------


def test_each_providers_published_addresses_skip_the_rate_rule_on_its_own_path(edged: Run) -> None:
    """An allow is final in AWS WAF: a rule of lower priority than the rate rule that allows
    a provider's address means the rate rule never counts it."""
    published = json.loads((INFRA / "provider_addresses.json").read_text())["providers"]
    assert set(published) == {"stripe", "square"}  # Adyen advises against allow-listing
    ip_sets = {s.inputs["name"]: s for s in edged.of_type("aws:wafv2/ipSet:IpSet")}
    assert set(ip_sets) == {"webhook-edge-stripe-prod", "webhook-edge-square-prod"}
    rules = edged.one("aws:wafv2/webAcl:WebAcl").inputs["rules"]
    for provider, entry in published.items():
        ip_set = ip_sets[f"webhook-edge-{provider}-prod"]
        assert (ip_set.inputs["scope"], ip_set.inputs["region"]) == ("CLOUDFRONT", "us-east-1")
        assert ip_set.inputs["ipAddressVersion"] == "IPV4"
        assert ip_set.inputs["addresses"] == sorted(entry["addresses"])
        assert entry["as_of"] in ip_set.inputs["description"]
        [rule] = [r for r in rules if r["name"] == f"allow-{provider}"]
        assert rule["action"] == {"allow": {}}
        assert rule["priority"] < rules[-1]["priority"]  # before the rate rule
        ip_match, path = rule["statement"]["andStatement"]["statements"]
        assert ip_match == {"ipSetReferenceStatement": {"arn": ip_set.outputs["arn"]}}
        assert path["byteMatchStatement"]["searchString"] == f"/webhooks/{provider}"
        assert path["byteMatchStatement"]["positionalConstraint"] == "EXACTLY"
    assert all(
        "/" in address and address.endswith(("/32", "/31", "/30", "/29", "/28"))
        for entry in published.values()
        for address in entry["addresses"]
    )


EDGE_ALARMS = {
    "webhook-alarm-edge-blocked-prod": ("AWS/WAFV2", "BlockedRequests", "Sum"),
    "webhook-alarm-edge-5xx-prod": ("AWS/CloudFront", "5xxErrorRate", "Average"),
    "webhook-alarm-edge-function-errors-prod": ("AWS/CloudFront", "LambdaExecutionError", "Sum"),
}


def test_the_edges_alarms_are_in_us_east_1_and_notify_a_topic_there(edged: Run) -> None:
    alarms = {a.inputs["name"]: a.inputs for a in edged.of_type(ALARM)}
    topic = edged.one("aws:sns/topic:Topic", "webhook-edge-alarms-")
    assert topic.inputs["region"] == "us-east-1"
    for name, (namespace, metric, statistic) in EDGE_ALARMS.items():
        alarm = alarms[name]
        assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
            namespace,
            metric,
            statistic,
        )
        assert alarm["region"] == "us-east-1"
        assert alarm["alarmActions"] == alarm["okActions"] == [topic.outputs["arn"]]
    assert alarms["webhook-alarm-edge-5xx-prod"]["dimensions"] == {
        "DistributionId": RESOURCE_ID,  # the mocks' id for the distribution
        "Region": "Global",
    }
    assert alarms["webhook-alarm-edge-blocked-prod"]["dimensions"] == {
        "WebACL": "webhook-edge-prod",
        "Rule": "ALL",
    }
    acl = edged.one("aws:wafv2/webAcl:WebAcl").inputs
    assert acl["visibilityConfig"]["metricName"] == "webhook-edge-prod"
    # The alarm email is subscribed in both regions.
    subscriptions = {
        s.inputs["topic"] for s in edged.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert topic.outputs["arn"] in subscriptions
    assert len(subscriptions) == 2


def test_without_the_edge_there_is_no_edge_alarm(bare: Run) -> None:
    names = {a.inputs["name"] for a in bare.of_type(ALARM)}
    assert names & set(EDGE_ALARMS) == set()
    assert bare.of_type("aws:wafv2/ipSet:IpSet") == []


def test_the_edge_function_is_left_in_place_on_destroy(edged: Run) -> None:
    """Lambda cannot delete a function CloudFront still replicates (for hours after the
    distribution is gone): the provider leaves it (``skip_destroy``), and the deploy guide
    says how to delete it later, with the names the program gives it."""
    function = edged.one(FUNCTION, "webhook-edge-")
    assert function.inputs["skipDestroy"] is True
    assert [f for f in edged.of_type(FUNCTION) if f.inputs.get("skipDestroy")] == [function]
    guide = (INFRA.parent / "docs" / "deploy.md").read_text()
    assert (
        "aws lambda delete-function --region us-east-1 --function-name webhook-edge-<suffix>"
        in guide
    )
    assert "lockFunctionUrl" in guide


def test_while_providers_move_to_the_edge_the_function_url_answers_both() -> None:
    run = run_program({"edge": json.dumps({"enabled": True, "lockFunctionUrl": False})})
    assert run.one("aws:lambda/functionUrl:FunctionUrl").inputs["authorizationType"] == "NONE"
    principals = sorted(p.inputs["principal"] for p in run.of_type(PERMISSION))
    assert principals == ["*", "*", "cloudfront.amazonaws.com", "cloudfront.amazonaws.com"]
    with pytest.raises(pulumi.RunError, match=re.escape("edge.enabled and edge.lockFunctionUrl")):
        run_program({"edge": json.dumps({"enabled": True, "lockFunctionUrl": "no"})}, preview=True)
