"""Alarms on what needs a person, each with what to do in its description; all notify the alarm
topic when they fire and when they clear, and ``alarmEmail`` subscribes an address to it.

The failures that matter most do not fail an invocation, so Lambda's ``Errors`` cannot see them:
the receiver answers a store, secret or KMS failure with a 503 (providers retry), and the
publisher reports a refused publication in ``batchItemFailures``. The functions count these
themselves (:mod:`webhook_processor.aws.metrics`: the same constants they emit with), and the
alarms watch those counts, Lambda's iterator age (the publisher falling behind), both queues'
depth, and each function's errors and throttles. With a reconciler (``apiKeys``), two more: an
event it recovered is a webhook that was missed, and a run that failed leaves a window unlisted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws

from data import Data
from edge import EDGE_REGION, Edge
from scope import Scope
from settings import AlarmSettings
from webhook_processor.aws import metrics

#: What the operator runs (``pulumi stack output --json > outputs.json`` first).
CLI: Final = "webhook-processor aws --stack-outputs outputs.json"


@dataclass(frozen=True)
class Watch:
    """One alarm: its resource name, the metric it watches, and what to do when it fires."""

    role: str
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str = "Sum"
    #: Where the metric lives, if not in the stack's region (the edge's, in us-east-1).
    region: str | None = None


def watches(
    scope: Scope, data: Data, functions: Mapping[str, aws.lambda_.Function], handoff_after: int
) -> dict[str, Watch]:
    """Every alarm by its config key (``settings.DEFAULT_ALARMS``)."""
    service = {metrics.SERVICE: metrics.service_name(scope.suffix)}
    logs = "aws logs tail /aws/lambda/{function} --since 1h --filter-pattern"
    receiver_logs = logs.format(function=scope.named("receiver"))
    publisher_logs = logs.format(function=scope.named("publisher"))
    found = {
        "receiverUnavailable": Watch(
            "receiver-unavailable",
            "The receiver answered 503: the table, a signing secret, KMS or a setting is "
            "unavailable, so providers are refused and retrying. Lambda's Errors stays at 0. "
            f"Find the reason: {receiver_logs} '\"cannot take webhook now\"'.",
            metrics.NAMESPACE,
            metrics.UNAVAILABLE,
            service,
        ),
        "invalidSignatures": Watch(
            "invalid-signatures",
            "Deliveries failed their signature check: a provider rotated its signing secret "
            "and the stack does not have the new one yet (pulumi config set --secret "
            "<provider>SigningSecret 'new,old' and pulumi up), or someone is sending forged "
            f"requests. See which provider: {receiver_logs} '\"invalid_signature\"'.",
            metrics.NAMESPACE,
            metrics.REJECTED,
            {metrics.REASON: metrics.INVALID_SIGNATURE, **service},
        ),
        "deadLetters": Watch(
            "dlq-depth",
            "Direct invocations of the receiver failed all their retries and wait in its "
            f"dead-letter queue. See them: {CLI} dead-letters; fix the cause, then {CLI} "
            "redrive (each payload is invoked again; a poison one stays, with its error).",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": data.dead_letters.name},
            "Maximum",
        ),
        "publishFailures": Watch(
            "publish-failures",
            "The topic refused publications (SNS, its key policy or KMS). Each is handed off to "
            f"the publish-failures queue once it is {handoff_after} s old (after the SDK's own "
            "retries). "
            f"Fix the topic; then {CLI} dead-letters and {CLI} redrive.",
            metrics.NAMESPACE,
            metrics.PUBLISH_FAILURES,
            service,
        ),
        "publishFailuresQueue": Watch(
            "publish-failures-depth",
            "Stored events wait in the publish-failures queue: the publisher gave up publishing "
            f"them (kept 14 days). See them: {CLI} dead-letters; once the topic takes "
            f"publications again, {CLI} redrive publishes each from the table, exactly once.",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": data.publish_failures.name},
            "Maximum",
        ),
        "publisherIteratorAge": Watch(
            "publisher-iterator-age",
            "The publisher is behind the table (IteratorAge, milliseconds): it is throttled, "
            "failing, or retrying a refused record until the hand-off. Subscribers get events "
            f"late. Check the publisher's alarms and {publisher_logs} '\"publish failed\"'.",
            "AWS/Lambda",
            "IteratorAge",
            {"FunctionName": functions["publisher"].name},
            "Maximum",
        ),
    }
    if "reconciler" in functions:
        reconciler_logs = logs.format(function=scope.named("reconciler"))
        found["missedWebhooks"] = Watch(
            "missed-webhooks",
            "The reconciler found events in a provider's events API that no webhook delivered, "
            "and stored them (published as any stored event). Webhooks are being missed: check "
            "the provider's dashboard for a disabled or failing endpoint and the receiver's "
            f"alarms. Which provider and events: {reconciler_logs} '\"recovered\"'. To recover "
            f"a longer window now: {CLI} reconcile <provider> --since 72h.",
            metrics.NAMESPACE,
            metrics.EVENTS_RECOVERED,
            service,
        )
        found["reconcileFailures"] = Watch(
            "reconcile-failures",
            "A reconciliation failed: the provider's events API (its key, its availability), "
            "the key's SSM parameter or the table. Its window is listed again by the next "
            "scheduled run once the cause is gone. See why: "
            f"{reconciler_logs} '\"reconciliation failed\"'; a rejected key needs a new one "
            "(pulumi config set --secret --path apiKeys.<provider> ...; pulumi up); then "
            f"{CLI} reconcile <provider> --dry-run to check.",
            metrics.NAMESPACE,
            metrics.RECONCILE_ERRORS,
            service,
        )
    for function, resource in functions.items():
        found[f"{function}Errors"] = Watch(
            f"{function}-errors",
            f"The {function} function raised or timed out. See why: "
            f"{logs.format(function=scope.named(function))} '\"ERROR\"'.",
            "AWS/Lambda",
            "Errors",
            {"FunctionName": resource.name},
        )
        found[f"{function}Throttles"] = Watch(
            f"{function}-throttles",
            f"The {function} function was throttled: the account's concurrency is used up (a "
            "flood of requests, or another workload). Check ConcurrentExecutions in AWS/Lambda; "
            "if a flood takes it, turn the edge on (edge.enabled). For more concurrency, raise "
            "the account's 'Concurrent executions' quota (aws service-quotas "
            "get-service-quota --service-code lambda --quota-code L-B99A9384; a new account may "
            "have 10); reservedConcurrency only moves concurrency between functions, and AWS "
            "refuses it unless 100 stay unreserved.",
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": resource.name},
        )
    return found


def edge_watches(scope: Scope, edge: Edge) -> dict[str, Watch]:
    """The edge's alarms: its metrics are in us-east-1, whatever the stack's region."""
    distribution: dict[str, pulumi.Input[str]] = {
        "DistributionId": edge.distribution.id,
        "Region": "Global",
    }
    acl = f"--scope CLOUDFRONT --region {EDGE_REGION} --web-acl-arn <web ACL ARN>"
    return {
        "edgeBlocked": Watch(
            "edge-blocked",
            "AWS WAF blocked requests to the receiver (a 403 at the edge, which no receiver "
            "metric sees): an address past edge.rateLimit. A flood is what the edge is for; a "
            "provider's address is not: its published addresses are allowed without the limit, "
            "so refresh them (make provider-addresses; pulumi up) or raise edge.rateLimit. See "
            f"which addresses: aws wafv2 get-sampled-requests {acl} --rule-metric-name "
            f"{edge.rate_metric} --time-window StartTime=<1h ago>,EndTime=<now> --max-items 100.",
            "AWS/WAFV2",
            "BlockedRequests",
            {"WebACL": edge.acl_metric, "Rule": "ALL"},
            region=EDGE_REGION,
        ),
        "edgeErrors": Watch(
            "edge-5xx",
            "CloudFront answered more than this percentage of requests with a 5xx: the receiver "
            "behind it is failing or throttled (see its alarms), or refuses CloudFront's "
            "signature (edge.lockFunctionUrl and the receiver-edge permission). Providers retry. "
            "Check the distribution: aws cloudfront get-distribution --id <id>.",
            "AWS/CloudFront",
            "5xxErrorRate",
            distribution,
            "Average",
            region=EDGE_REGION,
        ),
        "edgeFunctionErrors": Watch(
            "edge-function-errors",
            "The body-hashing Lambda@Edge function failed, so CloudFront answered 5xx. Its "
            "logs are in the region that ran it: aws logs tail "
            f"/aws/lambda/{EDGE_REGION}.{scope.named('edge')} --region <region> --since 1h.",
            "AWS/CloudFront",
            "LambdaExecutionError",
            distribution,
            region=EDGE_REGION,
        ),
    }


def build_alarms(
    scope: Scope,
    *,
    topic: aws.sns.Topic,
    data: Data,
    functions: Mapping[str, aws.lambda_.Function],
    settings: Mapping[str, AlarmSettings],
    handoff_after: int,
    email: str | None = None,
    edge: Edge | None = None,
) -> dict[str, aws.cloudwatch.MetricAlarm]:
    """One alarm per watch, configured by ``settings``; ``email`` subscribed to ``topic``, and
    to the edge's alarm topic in us-east-1 (an alarm notifies a topic of its own region only)."""
    topics: dict[str | None, aws.sns.Topic] = {None: topic}
    if edge is not None:
        # Unencrypted: the stack's key is regional, and a CloudWatch alarm cannot publish to a
        # topic under the AWS-managed key; an alarm's notification carries no payment data.
        topics[EDGE_REGION] = aws.sns.Topic(
            scope.named("edge-alarms"),
            name=scope.named("edge-alarms"),
            region=EDGE_REGION,
            tags=scope.tags("edge-alarms"),
            opts=scope.child(),
        )
    if email is not None:
        for region, each in topics.items():
            aws.sns.TopicSubscription(
                scope.named("alarm-email" if region is None else "edge-alarm-email"),
                topic=each.arn,
                protocol="email",
                endpoint=email,
                region=region,
                opts=scope.child(),
            )
    found = watches(scope, data, functions, handoff_after)
    if edge is not None:
        found.update(edge_watches(scope, edge))
    return {
        key: _alarm(scope, topics[watch.region], watch, settings[key])
        for key, watch in found.items()
    }


def _alarm(
    scope: Scope, topic: aws.sns.Topic, watch: Watch, settings: AlarmSettings
) -> aws.cloudwatch.MetricAlarm:
    """No data is not a breach: the custom counts are emitted only when something happens."""
    name = settings.name or scope.named(f"alarm-{watch.role}")
    return aws.cloudwatch.MetricAlarm(
        scope.named(f"alarm-{watch.role}"),
        name=name,
        region=watch.region,
        alarm_description=watch.description,
        namespace=watch.namespace,
        metric_name=watch.metric,
        dimensions=dict(watch.dimensions),
        statistic=watch.statistic,
        period=settings.period_seconds,
        evaluation_periods=settings.evaluation_periods,
        threshold=settings.threshold,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=[topic.arn],
        ok_actions=[topic.arn],
        tags=scope.tags(f"alarm-{watch.role}"),
        opts=scope.child(),
    )
