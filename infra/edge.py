"""An edge in front of the receiver, behind config (``edge``): CloudFront, an AWS WAF
rate-based rule, and origin access control, so that the Function URL answers CloudFront only.

Why: the plain Function URL is public, and every request to it, signed or not, is a 1 GB
invocation; nothing caps a flood of unsigned requests but the account's concurrency, which the
flood then takes from real deliveries. With the edge, the Function URL's auth type is AWS_IAM
and only this distribution may invoke it (a resource-policy statement conditioned on the
distribution's ARN); AWS WAF blocks an address past ``rate_limit`` requests in its window
before CloudFront forwards anything, and CloudFront does not bill a request WAF blocked.

A POST through origin access control must carry its body's SHA-256 (Lambda takes no unsigned
payload), which providers do not send: a Lambda@Edge function on the origin request adds it
(:mod:`webhook_processor.aws.handlers.edge`). The web ACL and the edge function live in
us-east-1, as CloudFront requires. docs/operate.md prices a million unsigned requests both ways.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pulumi
import pulumi_aws as aws

import webhook_processor.aws.handlers.edge as edge_code
from functions import url_permissions
from scope import Scope
from settings import EdgeSettings

#: The edge function's one module, as deployed: its name in the archive, whatever the source
#: file is called in the package, so that moving the source never replaces the function.
EDGE_MODULE: Final = "edge_handler"
#: CloudFront and Lambda@Edge are configured in US East (N. Virginia) only.
EDGE_REGION: Final = "us-east-1"
#: AWS-managed CloudFront policies: no caching (every webhook is new) and every viewer header
#: but Host to the origin (the providers' signature headers; a Function URL needs its own Host).
CACHING_DISABLED: Final = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER: Final = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS: Final = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


#: The providers' published webhook addresses, each list with its source and date
#: (``make provider-addresses`` refreshes it: tools/provider_addresses.py).
PROVIDER_ADDRESSES: Final = Path(__file__).resolve().parent / "provider_addresses.json"


@dataclass(frozen=True)
class Edge:
    """The distribution and what guards it."""

    distribution: aws.cloudfront.Distribution
    web_acl: aws.wafv2.WebAcl
    function: aws.lambda_.Function
    #: Where providers deliver: the distribution's domain with ``/webhooks/{provider}``.
    webhook_url: pulumi.Output[str]
    #: The CloudWatch name of the web ACL's metrics (its ``WebACL`` dimension).
    acl_metric: str

    @property
    def rate_metric(self) -> str:
        """The CloudWatch name of the rate rule's metrics."""
        return _rate_metric(self.acl_metric)


def _rate_metric(acl_metric: str) -> str:
    return f"{acl_metric}-rate"


def provider_addresses(path: Path = PROVIDER_ADDRESSES) -> dict[str, dict[str, object]]:
    """Provider -> ``{"source", "as_of", "addresses"}``: the allow-list's data."""
    providers: dict[str, dict[str, object]] = json.loads(path.read_text())["providers"]
    return providers


def build_edge(
    scope: Scope,
    settings: EdgeSettings,
    receiver: aws.lambda_.Function,
    url: aws.lambda_.FunctionUrl,
) -> Edge:
    """The distribution in front of ``url``, and its right to invoke ``receiver``."""
    ip_sets = _ip_sets(scope)
    web_acl = _web_acl(scope, settings, ip_sets)
    function = _edge_function(scope)
    access = aws.cloudfront.OriginAccessControl(
        scope.named("edge-oac"),
        name=scope.named("edge-oac"),
        description="CloudFront signs its requests to the receiver's Function URL",
        origin_access_control_origin_type="lambda",
        signing_behavior="always",
        signing_protocol="sigv4",
        opts=scope.child(),
    )
    origin = url.function_url.apply(lambda u: (u or "").removeprefix("https://").rstrip("/"))
    distribution = aws.cloudfront.Distribution(
        scope.named("edge"),
        enabled=True,
        comment=f"webhook-processor {scope.suffix}: the receiver behind AWS WAF",
        price_class=settings.price_class,
        web_acl_id=web_acl.arn,
        origins=[
            {
                "origin_id": "receiver",
                "domain_name": origin,
                "origin_access_control_id": access.id,
                "custom_origin_config": {
                    "http_port": 80,
                    "https_port": 443,
                    "origin_protocol_policy": "https-only",
                    "origin_ssl_protocols": ["TLSv1.2"],
                },
            }
        ],
        default_cache_behavior={
            "target_origin_id": "receiver",
            "viewer_protocol_policy": "https-only",
            "allowed_methods": list(ALL_METHODS),
            "cached_methods": ["GET", "HEAD"],
            "cache_policy_id": CACHING_DISABLED,
            "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_HEADER,
            "lambda_function_associations": [
                {
                    "event_type": "origin-request",
                    "lambda_arn": function.qualified_arn,
                    "include_body": True,
                }
            ],
        },
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate={"cloudfront_default_certificate": True},
        tags=scope.tags("edge"),
        opts=scope.child(),
    )
    # Origin access control signs as CloudFront; only this distribution may invoke the URL.
    url_permissions(
        scope,
        receiver,
        "receiver-edge",
        principal="cloudfront.amazonaws.com",
        auth_type="AWS_IAM",
        source_arn=distribution.arn,
    )
    webhook_url = distribution.domain_name.apply(lambda d: f"https://{d}/webhooks/{{provider}}")
    return Edge(distribution, web_acl, function, webhook_url, scope.named("edge"))


def _ip_sets(scope: Scope) -> dict[str, aws.wafv2.IpSet]:
    """One IP set per provider that publishes its webhook addresses (Stripe, Square; Adyen
    advises against allow-listing its own, which change, so it has none)."""
    found = {}
    for provider, entry in provider_addresses().items():
        name = scope.named(f"edge-{provider}")
        found[provider] = aws.wafv2.IpSet(
            name,
            name=name,
            region=EDGE_REGION,
            scope="CLOUDFRONT",
            ip_address_version="IPV4",
            addresses=sorted(str(a) for a in entry["addresses"]),  # type: ignore[attr-defined]
            description=f"{provider}'s webhook addresses as of {entry['as_of']}"[:256],
            tags=scope.tags(f"edge-{provider}"),
            opts=scope.child(),
        )
    return found


def _web_acl(
    scope: Scope, settings: EdgeSettings, ip_sets: dict[str, aws.wafv2.IpSet]
) -> aws.wafv2.WebAcl:
    """Allow by default; a provider's published address, on its own path exactly, without a
    limit (an allow is final: the rate rule never counts it); any other address blocked past
    the limit. The allow-list trusts every account of the provider (docs/operate.md)."""
    name = scope.named("edge")
    allowed: list[aws.wafv2.WebAclRuleArgsDict] = [
        {
            "name": f"allow-{provider}",
            "priority": priority,
            "action": {"allow": {}},
            "statement": {
                "and_statement": {
                    "statements": [
                        {"ip_set_reference_statement": {"arn": ip_set.arn}},
                        {
                            "byte_match_statement": {
                                "field_to_match": {"uri_path": {}},
                                "positional_constraint": "EXACTLY",
                                "search_string": f"/webhooks/{provider}",
                                "text_transformations": [{"priority": 0, "type": "NONE"}],
                            }
                        },
                    ]
                }
            },
            "visibility_config": _visibility(f"{name}-allow-{provider}"),
        }
        for priority, (provider, ip_set) in enumerate(sorted(ip_sets.items()))
    ]
    rule: aws.wafv2.WebAclRuleArgsDict = {
        "name": "rate-per-address",
        "priority": len(allowed),
        "action": {"block": {}},
        "statement": {
            "rate_based_statement": {
                "limit": settings.rate_limit,
                "evaluation_window_sec": settings.rate_window_seconds,
                "aggregate_key_type": "IP",
            }
        },
        "visibility_config": _visibility(_rate_metric(name)),
    }
    return aws.wafv2.WebAcl(
        name,
        name=name,
        region=EDGE_REGION,
        scope="CLOUDFRONT",
        description="Rate limit per address in front of the webhook receiver",
        default_action={"allow": {}},
        rules=[*allowed, rule],
        visibility_config=_visibility(name),
        tags=scope.tags("edge"),
        opts=scope.child(),
    )


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgsDict:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


def _edge_function(scope: Scope) -> aws.lambda_.Function:
    """The body-hashing function: a published version (Lambda@Edge runs versions only), x86_64
    (it takes no arm64), in us-east-1, with a role Lambda@Edge's replicas can assume."""
    name = scope.named("edge")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = aws.iam.Role(
        name,
        name=name,
        assume_role_policy=json.dumps(trust),
        tags=scope.tags("edge"),
        opts=scope.child(),
    )
    # Replicas log to /aws/lambda/us-east-1.<name> in the region that ran them: any region.
    group = scope.account.apply(
        lambda account: f"arn:aws:logs:*:{account}:log-group:/aws/lambda/{EDGE_REGION}.{name}"
    )
    policy = aws.iam.RolePolicy(
        scope.named("edge-policy"),
        role=role.id,
        policy=group.apply(
            lambda resource: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EdgeWritesItsLogs",
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogGroup",
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                            ],
                            "Resource": [resource, f"{resource}:*"],
                        }
                    ],
                }
            )
        ),
        opts=scope.child(),
    )
    source = Path(edge_code.__file__)
    return aws.lambda_.Function(
        name,
        name=name,
        region=EDGE_REGION,
        role=role.arn,
        runtime="python3.13",
        handler=f"{EDGE_MODULE}.handler",
        architectures=["x86_64"],
        memory_size=128,
        timeout=5,
        publish=True,
        # Lambda refuses to delete a function CloudFront still replicates, for hours after the
        # distribution lets it go, so `pulumi destroy` and turning the edge off would fail here:
        # the function is left in place, and deleted later (docs/deploy.md, "Turning the edge
        # on and off").
        skip_destroy=True,
        code=pulumi.AssetArchive({f"{EDGE_MODULE}.py": pulumi.FileAsset(str(source))}),
        tags=scope.tags("edge"),
        opts=scope.child(depends_on=[policy]),
    )
