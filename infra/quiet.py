"""Alarms for when a provider goes quiet: nothing reaches the receiver, so no failure alarm can
fire. One per provider with a signing secret, on that provider's ``Deliveries`` series, and,
with an events-API key, one on what the provider says of our endpoint.

**Quiet.** A CloudWatch anomaly-detection alarm: ``ANOMALY_DETECTION_BAND(m1, width)`` over the
hourly sum of the provider's deliveries, ``LessThanLowerThreshold``, two hours out of two, and
missing data breaching (no delivery in an hour emits no datapoint, which is the stop itself).
The model learns hourly, daily and weekly patterns from up to two weeks of the metric
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Anomaly_Detection.html),
so a band follows the same time of the week, as the local detector's median does; metric math
cannot shift a series by a week, so a ratio to week-ago values is not available to an alarm.

What it misses, and what it costs: the model needs about two weeks before its band means
anything, and it learns an outage it sees for long enough; where the band's lower edge is at or
below zero (nights of a slow provider) a drop that still leaves a datapoint cannot breach, so a
night is watched only by missing data; and missing data breaching pages a provider that is
silent for two hours in its normal week: for such a provider set ``quietAlarms.<provider>`` to
``false`` and rely on the endpoint alarm and the reconciler. ``width`` is the band's width in
standard deviations (default :data:`DEFAULT_WIDTH`): wider fires later, on deeper drops.

**Endpoint down.** The reconciler's scheduled run emits ``EndpointDown`` 1 for a provider whose
endpoint pointing at ``/webhooks/<provider>`` is disabled or missing; the alarm fires on the
first. Missing data is not breaching: a run that could not ask emits nothing, and the
reconciliation's own alarms say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pulumi
import pulumi_aws as aws

from alarms import CLI
from scope import Scope
from webhook_processor.aws import metrics

#: The anomaly band's width, in standard deviations, unless ``quietAlarms`` says otherwise.
DEFAULT_WIDTH: Final = 3.0
#: The widths CloudWatch's band takes that make sense here.
WIDTHS: Final = (1.0, 10.0)
#: The quiet alarm's period and how many of them, out of as many, must breach.
PERIOD_SECONDS: Final = 3600
EVALUATION_PERIODS: Final = 2
RUNBOOK: Final = "docs/status.md, 'What to do when a provider is quiet'"


def quiet_widths(config: object, providers: list[str]) -> dict[str, float]:
    """``quietAlarms`` (provider -> band width, or false for no alarm) over the providers with a
    signing secret, each with :data:`DEFAULT_WIDTH` unless set."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise pulumi.RunError(
            "quietAlarms takes an object of provider to a band width or false: "
            "pulumi config set --path 'quietAlarms.adyen' false"
        )
    unknown = sorted(set(config) - set(providers))
    if unknown:
        raise pulumi.RunError(
            f"quietAlarms.{unknown[0]} names no provider with a signing secret "
            f"(those are: {', '.join(sorted(providers)) or 'none'})"
        )
    widths = {}
    for provider in sorted(providers):
        value = config.get(provider, DEFAULT_WIDTH)
        if value is False:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise pulumi.RunError(
                f"quietAlarms.{provider} must be a band width ({WIDTHS[0]:g} to "
                f"{WIDTHS[1]:g} standard deviations) or false"
            )
        if not WIDTHS[0] <= value <= WIDTHS[1]:
            raise pulumi.RunError(
                f"quietAlarms.{provider} is {value}: a band width is {WIDTHS[0]:g} to "
                f"{WIDTHS[1]:g} standard deviations"
            )
        widths[provider] = float(value)
    return widths


def build_quiet_alarms(
    scope: Scope,
    topic: aws.sns.Topic,
    widths: Mapping[str, float],
    endpoint_providers: list[str],
    reconcile_minutes: int,
) -> dict[str, aws.cloudwatch.MetricAlarm]:
    """``quiet-<provider>`` for each width, ``endpoint-<provider>`` for each provider with a key."""
    service = metrics.service_name(scope.suffix)
    receiver_logs = f"aws logs tail /aws/lambda/{scope.named('receiver')} --since 2h"
    found = {}
    for provider, width in widths.items():
        role = f"quiet-{provider}"
        found[role] = aws.cloudwatch.MetricAlarm(
            scope.named(f"alarm-{role}"),
            name=scope.named(f"alarm-{role}"),
            alarm_description=(
                f"{provider} delivered far fewer webhooks than usual for this time of the week, "
                "or none: its endpoint may be disabled or deleted, or DNS or the edge sends its "
                f"traffic elsewhere. Ask the provider ({CLI} reconcile {provider} --dry-run "
                "lists what it sent; its dashboard shows the endpoint and its failures), check "
                f"the receiver's log ({receiver_logs}), and once deliveries flow, recover the "
                f"gap: {CLI} reconcile {provider} --since <when it went quiet>. See {RUNBOOK}. "
                f"A provider with naturally sparse traffic: quietAlarms.{provider} false."
            ),
            comparison_operator="LessThanLowerThreshold",
            evaluation_periods=EVALUATION_PERIODS,
            datapoints_to_alarm=EVALUATION_PERIODS,
            threshold_metric_id="band",
            treat_missing_data="breaching",
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="deliveries",
                    return_data=True,
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace=metrics.NAMESPACE,
                        metric_name=metrics.DELIVERIES,
                        dimensions={metrics.SERVICE: service, metrics.PROVIDER: provider},
                        period=PERIOD_SECONDS,
                        stat="Sum",
                    ),
                ),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="band",
                    expression=f"ANOMALY_DETECTION_BAND(deliveries, {width:g})",
                    label=f"usual {provider} deliveries",
                    return_data=True,
                ),
            ],
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            tags=scope.tags(f"alarm-{role}"),
            opts=scope.child(),
        )
    reconciler_logs = f"aws logs tail /aws/lambda/{scope.named('reconciler')} --since 1h"
    for provider in sorted(endpoint_providers):
        role = f"endpoint-{provider}"
        found[role] = aws.cloudwatch.MetricAlarm(
            scope.named(f"alarm-{role}"),
            name=scope.named(f"alarm-{role}"),
            alarm_description=(
                f"{provider} says our webhook endpoint (URL path /webhooks/{provider}) is "
                "disabled, or that there is none: it sends us nothing. Which one: "
                f"{reconciler_logs} --filter-pattern '\"webhook endpoint down\"'. Re-enable or "
                f"recreate it in the {provider} dashboard (delete a stale one pointing at us), "
                f"then recover the gap: {CLI} reconcile {provider} --since <when it stopped>. "
                f"See {RUNBOOK}."
            ),
            namespace=metrics.NAMESPACE,
            metric_name=metrics.ENDPOINT_DOWN,
            dimensions={metrics.SERVICE: service, metrics.PROVIDER: provider},
            statistic="Maximum",
            period=max(60, reconcile_minutes * 60),
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            tags=scope.tags(f"alarm-{role}"),
            opts=scope.child(),
        )
    return found
