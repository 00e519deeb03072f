"""The quiet-provider and endpoint alarms under Pulumi's mocks: one quiet alarm per provider with
a signing secret, on the series the receiver emits (``tests/integration/test_operate.py`` holds
the series to the EMF it prints), missing data breaching; one endpoint alarm per API key."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from tests.infra.conftest import API_KEYS, SECRETS
from tests.infra.harness import Run, arn_of, run_program
from tests.support.builders import SECRETS as PROVIDER_SECRETS
from webhook_processor.aws import metrics

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _alarms(run: Run, kind: str) -> dict[str, dict[str, Any]]:
    return {
        a.inputs["name"]: a.inputs
        for a in run.of_type(ALARM)
        if a.inputs["name"].startswith(f"webhook-alarm-{kind}-")
    }


def test_each_provider_with_a_secret_has_a_quiet_alarm_on_its_deliveries_band(
    configured: Run,
) -> None:
    found = _alarms(configured, "quiet")
    assert sorted(found) == sorted(f"webhook-alarm-quiet-{p}-prod" for p in PROVIDER_SECRETS)
    alarm = found["webhook-alarm-quiet-stripe-prod"]
    assert alarm["comparisonOperator"] == "LessThanLowerThreshold"
    assert alarm["treatMissingData"] == "breaching"
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (2, 2)
    assert alarm["thresholdMetricId"] == "band"
    assert "threshold" not in alarm  # a band alarm has none (AWS refuses both)
    deliveries, band = alarm["metricQueries"]
    assert deliveries["metric"] == {
        "namespace": metrics.NAMESPACE,
        "metricName": metrics.DELIVERIES,
        "dimensions": {"service": "webhook-processor-prod", "provider": "stripe"},
        "period": 3600,
        "stat": "Sum",
    }
    assert (deliveries["id"], deliveries["returnData"]) == ("deliveries", True)
    assert band["expression"] == "ANOMALY_DETECTION_BAND(deliveries, 3)"
    assert band["returnData"] is True
    topic = arn_of("aws:sns/topic:Topic", "webhook-alarms-prod")
    assert (alarm["alarmActions"], alarm["okActions"]) == ([topic], [topic])
    assert "reconcile stripe --since" in alarm["alarmDescription"]
    assert "docs/status.md" in alarm["alarmDescription"]
    assert len(alarm["alarmDescription"]) <= 1024


def test_without_a_secret_there_is_no_quiet_alarm(bare: Run) -> None:
    assert _alarms(bare, "quiet") == {}
    assert _alarms(bare, "endpoint") == {}


def test_config_sets_a_providers_band_width_or_turns_its_alarm_off() -> None:
    run = run_program(
        {**SECRETS, "quietAlarms": json.dumps({"adyen": False, "stripe": 4.5})},
        secret_keys=tuple(SECRETS),
    )
    found = _alarms(run, "quiet")
    assert "webhook-alarm-quiet-adyen-test" not in found
    assert len(found) == len(PROVIDER_SECRETS) - 1
    stripe = found["webhook-alarm-quiet-stripe-test"]["metricQueries"][1]["expression"]
    assert stripe == "ANOMALY_DETECTION_BAND(deliveries, 4.5)"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"paypal": False}, "quietAlarms.paypal names no provider with a signing secret"),
        ({"stripe": "wide"}, "quietAlarms.stripe must be a band width (1 to 10"),
        ({"stripe": True}, "quietAlarms.stripe must be a band width"),
        ({"stripe": 0.5}, "quietAlarms.stripe is 0.5: a band width is 1 to 10"),
        (["stripe"], "quietAlarms takes an object of provider to a band width or false"),
    ],
)
def test_bad_quiet_settings_fail_the_preview_saying_which(setting: object, message: str) -> None:
    with pytest.raises(pulumi.RunError, match=re.escape(message)):
        run_program(
            {**SECRETS, "quietAlarms": json.dumps(setting)},
            secret_keys=tuple(SECRETS),
            preview=True,
        )


def test_each_api_key_has_an_endpoint_alarm_on_what_the_reconciler_emits(
    configured: Run,
) -> None:
    found = _alarms(configured, "endpoint")
    assert sorted(found) == sorted(f"webhook-alarm-endpoint-{p}-prod" for p in API_KEYS)
    alarm = found["webhook-alarm-endpoint-square-prod"]
    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
        metrics.NAMESPACE,
        metrics.ENDPOINT_DOWN,
        "Maximum",
    )
    assert alarm["dimensions"] == {"service": "webhook-processor-prod", "provider": "square"}
    assert (alarm["threshold"], alarm["comparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["period"] == 900  # the reconciler's default interval
    assert alarm["treatMissingData"] == "notBreaching"
    assert "webhook endpoint down" in alarm["alarmDescription"]
