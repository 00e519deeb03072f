"""The alarms under Pulumi's mocks: each on the metric, namespace and dimensions that are really
emitted (the functions' own counts come from :mod:`webhook_processor.aws.metrics`, the constants the
handlers emit with; ``tests/integration/test_operate.py`` holds them to the EMF the handlers
print), each configurable, each routed to the alarm topic with what to do."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from tests.infra.harness import Run, arn_of, run_program
from webhook_processor.aws import metrics

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SERVICE = {"service": "webhook-processor-test"}


def alarms(run: Run) -> dict[str, dict[str, Any]]:
    return {a.inputs["name"]: a.inputs for a in run.of_type(ALARM)}


def watched(alarm: dict[str, Any]) -> tuple[str, str, dict[str, str], str]:
    return (alarm["namespace"], alarm["metricName"], alarm["dimensions"], alarm["statistic"])


def test_there_is_one_alarm_per_configurable_alarm_all_notifying_the_alarm_topic(
    bare: Run,
) -> None:
    from settings import (  # the program's, loaded by the run
        DEFAULT_ALARMS,
        EDGE_ALARMS,
        RECONCILER_ALARMS,
    )

    found = alarms(bare)
    # Without apiKeys there is no reconciler, without the edge no edge: none of their alarms.
    assert len(found) == len(DEFAULT_ALARMS) - len(RECONCILER_ALARMS) - len(EDGE_ALARMS) == 10
    topic = arn_of("aws:sns/topic:Topic", "webhook-alarms-test")
    assert {(tuple(a["alarmActions"]), tuple(a["okActions"])) for a in found.values()} == {
        ((topic,), (topic,))
    }
    assert {a["treatMissingData"] for a in found.values()} == {"notBreaching"}


#: The commands an alarm's description may answer it with.
COMMANDS = (
    "webhook-processor aws",
    "aws logs tail",
    "aws service-quotas get-service-quota",
    "aws wafv2 get-sampled-requests",
    "aws cloudfront",
    "make provider-addresses",
)


def test_every_alarm_says_what_to_do_with_a_command_that_answers_it(bare: Run) -> None:
    descriptions = {name: a["alarmDescription"] for name, a in alarms(bare).items()}
    assert {
        name
        for name, text in descriptions.items()
        if not any(command in text for command in COMMANDS)
    } == set()
    assert max(len(text) for text in descriptions.values()) <= 1024  # CloudWatch's limit


def test_receiver_unavailable_counts_the_503s_lambda_errors_cannot_see(bare: Run) -> None:
    alarm = alarms(bare)["webhook-alarm-receiver-unavailable-test"]
    assert watched(alarm) == (metrics.NAMESPACE, metrics.UNAVAILABLE, SERVICE, "Sum")
    assert (alarm["threshold"], alarm["period"], alarm["evaluationPeriods"]) == (0, 60, 1)
    assert "cannot take webhook now" in alarm["alarmDescription"]


def test_invalid_signatures_fire_on_a_burst_of_one_reason_only(bare: Run) -> None:
    alarm = alarms(bare)["webhook-alarm-invalid-signatures-test"]
    assert watched(alarm) == (
        metrics.NAMESPACE,
        metrics.REJECTED,
        {"reason": "invalid_signature", **SERVICE},
        "Sum",
    )
    assert (alarm["threshold"], alarm["period"]) == (20, 300)
    assert "SigningSecret" in alarm["alarmDescription"]


def test_publish_failures_count_what_batch_item_failures_hide_from_errors(bare: Run) -> None:
    alarm = alarms(bare)["webhook-alarm-publish-failures-test"]
    assert watched(alarm) == (metrics.NAMESPACE, metrics.PUBLISH_FAILURES, SERVICE, "Sum")
    assert (
        "handed off to the publish-failures queue once it is 0 s old" in alarm["alarmDescription"]
    )


@pytest.mark.parametrize(
    ("alarm", "queue", "says"),
    [
        # New: the publisher's hand-offs have their own queue, and their own alarm.
        (
            "publish-failures-depth",
            "webhook-publish-failures-test",
            "aws --stack-outputs outputs.json redrive",
        ),
        ("dlq-depth", "webhook-dlq-test", "dead-letters"),
    ],
)
def test_each_failure_queue_has_a_depth_alarm_pointing_at_the_redrive(
    bare: Run, alarm: str, queue: str, says: str
) -> None:
    found = alarms(bare)[f"webhook-alarm-{alarm}-test"]
    assert watched(found) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": queue},
        "Maximum",
    )
    assert says in found["alarmDescription"]


def test_iterator_age_says_the_publisher_is_falling_behind(bare: Run) -> None:
    alarm = alarms(bare)["webhook-alarm-publisher-iterator-age-test"]
    assert watched(alarm) == (
        "AWS/Lambda",
        "IteratorAge",
        {"FunctionName": "webhook-publisher-test"},
        "Maximum",
    )
    assert (alarm["threshold"], alarm["evaluationPeriods"]) == (120_000, 3)


@pytest.mark.parametrize("function", ["receiver", "publisher"])
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_each_function_has_its_errors_and_throttles_alarms(
    bare: Run, function: str, metric: str
) -> None:
    alarm = alarms(bare)[f"webhook-alarm-{function}-{metric.lower()}-test"]
    assert watched(alarm) == (
        "AWS/Lambda",
        metric,
        {"FunctionName": f"webhook-{function}-test"},
        "Sum",
    )


def test_thresholds_periods_and_names_come_from_config() -> None:
    run = run_program(
        {
            "alarms": json.dumps(
                {
                    "invalidSignatures": {"threshold": 100, "periodSeconds": 600},
                    "publisherIteratorAge": {"evaluationPeriods": 5, "name": "late-publisher"},
                }
            ),
            "publishHandoffSeconds": "45",
        }
    )
    found = alarms(run)
    signatures = found["webhook-alarm-invalid-signatures-test"]
    assert (signatures["threshold"], signatures["period"]) == (100, 600)
    assert found["late-publisher"]["evaluationPeriods"] == 5
    assert "once it is 45 s old" in found["webhook-alarm-publish-failures-test"]["alarmDescription"]
    publisher = run.one("aws:lambda/function:Function", "webhook-publisher-")
    assert publisher.inputs["environment"]["variables"]["HANDOFF_AFTER_SECONDS"] == "45"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"unknownAlarm": {"threshold": 1}}, "alarms.unknownAlarm is no alarm; the alarms are:"),
        ({"publishFailures": {"threshold": -1}}, "threshold must be a number >= 0"),
        ({"publishFailures": {"periodSeconds": 90}}, "periodSeconds must be a multiple of 60"),
        ({"publishFailures": {"evaluationPeriods": 0}}, "evaluationPeriods must be at least 1"),
        (
            {"publishFailures": {"periodSeconds": 3600, "evaluationPeriods": 48}},
            "at most 86400 (one day)",
        ),
        ({"publishFailures": {"name": ""}}, "name must be 1 to 255 characters"),
        ({"publishFailures": {"threshhold": 1}}, "takes an object with threshold"),
        ({"publishFailures": 5}, "takes an object with threshold"),
    ],
)
def test_bad_alarm_settings_fail_the_preview_saying_which(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(pulumi.RunError, match=re.escape(message)):
        run_program({"alarms": json.dumps(settings)}, preview=True)


def test_alarm_email_subscribes_the_address_to_the_alarm_topic(bare: Run) -> None:
    assert bare.of_type("aws:sns/topicSubscription:TopicSubscription") == []
    run = run_program({"alarmEmail": "oncall@example.com"})
    [subscription] = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs == {
        "topic": arn_of("aws:sns/topic:Topic", "webhook-alarms-test"),
        "protocol": "email",
        "endpoint": "oncall@example.com",
    }
    with pytest.raises(pulumi.RunError, match="alarmEmail 'oncall' is not an email address"):
        run_program({"alarmEmail": "oncall"}, preview=True)
