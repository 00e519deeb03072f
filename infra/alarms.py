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
            "The topic refused publications (SNS, its key policy or KMS). Each is retried in "
            f"the stream for {handoff_after} s, then handed off to the publish-failures queue. "
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
        for metric, what in (("Errors", "raised or timed out"), ("Throttles", "was throttled")):
            found[f"{function}{metric}"] = Watch(
                f"{function}-{metric.lower()}",
                f"The {function} function {what}. See why: "
                f"{logs.format(function=scope.named(function))} '\"ERROR\"'; raise its "
                "concurrency (reservedConcurrency) if it is throttled.",
                "AWS/Lambda",
                metric,
                {"FunctionName": resource.name},
            )
    return found


def build_alarms(
    scope: Scope,
    *,
    topic: aws.sns.Topic,
    data: Data,
    functions: Mapping[str, aws.lambda_.Function],
    settings: Mapping[str, AlarmSettings],
    handoff_after: int,
    email: str | None = None,
) -> dict[str, aws.cloudwatch.MetricAlarm]:
    """One alarm per watch, configured by ``settings``; ``email`` subscribed to ``topic``."""
    if email is not None:
        aws.sns.TopicSubscription(
            scope.named("alarm-email"),
            topic=topic.arn,
            protocol="email",
            endpoint=email,
            opts=scope.child(),
        )
    return {
        key: _alarm(scope, topic, watch, settings[key])
        for key, watch in watches(scope, data, functions, handoff_after).items()
    }


def _alarm(
    scope: Scope, topic: aws.sns.Topic, watch: Watch, settings: AlarmSettings
) -> aws.cloudwatch.MetricAlarm:
    """No data is not a breach: the custom counts are emitted only when something happens."""
    name = settings.name or scope.named(f"alarm-{watch.role}")
    return aws.cloudwatch.MetricAlarm(
        scope.named(f"alarm-{watch.role}"),
        name=name,
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
