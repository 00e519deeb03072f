"""The Pulumi program: read configuration, build the component, export its outputs."""

from __future__ import annotations

from pathlib import Path

import pulumi

from component import WebhookProcessor
from settings import (
    DEFAULT_CONCURRENCY_QUOTA,
    WebhookProcessorArgs,
    alarm_settings,
    api_keys,
    edge_settings,
    handoff_after,
    reconcile_interval,
    reserved_concurrency,
)
from webhook_processor.providers import default_providers

config = pulumi.Config()
# One secret per provider the application ships: a new provider needs no change here. A value
# may list several active secrets, comma-separated, while one is rotated.
secrets = {
    provider: secret
    for provider in default_providers()
    if (secret := config.get_secret(f"{provider}SigningSecret")) is not None
}
reserved = reserved_concurrency(
    config.get_object("reservedConcurrency"),
    config.get_int("lambdaConcurrencyQuota") or DEFAULT_CONCURRENCY_QUOTA,
)

processor = WebhookProcessor(
    "webhook-processor",
    WebhookProcessorArgs(
        environment_suffix=config.get("environmentSuffix") or pulumi.get_stack(),
        artifact_path=config.get("artifactPath")
        or str(Path(__file__).resolve().parent.parent / "dist" / "lambda.zip"),
        lambda_memory_mb=config.get_int("lambdaMemoryMb") or 1024,
        lambda_timeout_seconds=config.get_int("lambdaTimeoutSeconds") or 60,
        lambda_runtime=config.get("lambdaRuntime") or "python3.13",
        log_retention_days=config.get_int("logRetentionDays") or 30,
        reserved_concurrency=reserved,
        cost_center=config.get("costCenter") or "payments",
        owner=config.get("owner") or "payments-platform",
        signing_secrets=secrets,
        deployer_principal_arns=config.get_object("deployerPrincipalArns") or [],
        operator_principal_arns=config.get_object("operatorPrincipalArns") or [],
        square_notification_url=config.get("squareNotificationUrl"),
        handoff_after_seconds=handoff_after(config.get_int("publishHandoffSeconds")),
        alarms=alarm_settings(config.get_object("alarms")),
        alarm_email=config.get("alarmEmail"),
        edge=edge_settings(config.get_object("edge")),
        # The events APIs' keys, set with `pulumi config set --secret --path apiKeys.<provider>`.
        api_keys=api_keys(config.get_object("apiKeys")),
        reconcile_interval_minutes=reconcile_interval(config.get("reconcileIntervalMinutes")),
        quiet_alarms=config.get_object("quietAlarms") or {},
    ),
)

for name, value in processor.outputs.items():
    pulumi.export(name, value)
