"""Alarms on what needs a person: events in the dead-letter queue, and each function's errors
and throttles. Each one notifies the alarm topic when it fires and when it clears."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from scope import Scope


def build_alarms(
    scope: Scope,
    *,
    topic: aws.sns.Topic,
    dead_letters: aws.sqs.Queue,
    functions: Mapping[str, aws.lambda_.Function],
) -> list[aws.cloudwatch.MetricAlarm]:
    """One alarm on the queue's depth, and two on each of ``functions`` (by role)."""
    alarms = [
        _alarm(
            scope,
            topic,
            "dlq-depth",
            "Events are waiting in the dead-letter queue: inspect and redrive them.",
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dead_letters.name},
            statistic="Maximum",
        )
    ]
    for function, resource in functions.items():
        for metric in ("Errors", "Throttles"):
            alarms.append(
                _alarm(
                    scope,
                    topic,
                    f"{function}-{metric.lower()}",
                    f"The {function} function reports {metric.lower()}.",
                    namespace="AWS/Lambda",
                    metric=metric,
                    dimensions={"FunctionName": resource.name},
                    statistic="Sum",
                )
            )
    return alarms


def _alarm(
    scope: Scope,
    topic: aws.sns.Topic,
    role: str,
    description: str,
    *,
    namespace: str,
    metric: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    statistic: str,
) -> aws.cloudwatch.MetricAlarm:
    """Fires on any datapoint above zero in a minute; no data is not a breach."""
    return aws.cloudwatch.MetricAlarm(
        scope.named(f"alarm-{role}"),
        name=scope.named(f"alarm-{role}"),
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dict(dimensions),
        statistic=statistic,
        period=60,
        evaluation_periods=1,
        threshold=0,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=[topic.arn],
        ok_actions=[topic.arn],
        tags=scope.tags(f"alarm-{role}"),
        opts=scope.child(),
    )
