"""The Pulumi program: read configuration, build the component, export its outputs."""

from __future__ import annotations

from pathlib import Path

import pulumi

from component import PROVIDERS, WebhookProcessor, WebhookProcessorArgs

config = pulumi.Config()
secrets = {
    provider: secret
    for provider in PROVIDERS
    if (secret := config.get_secret(f"{provider}SigningSecret")) is not None
}
reserved = config.get_int("reservedConcurrency")

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
    ),
)

pulumi.export("webhook_url", processor.webhook_url)
pulumi.export("table_name", processor.table.name)
pulumi.export("topic_arn", processor.topic.arn)
pulumi.export("dlq_url", processor.dead_letters.url)
pulumi.export("kms_key_arn", processor.key.arn)
pulumi.export("receiver_function_name", processor.receiver.name)
pulumi.export("publisher_function_name", processor.publisher.name)
pulumi.export("alarm_topic_arn", processor.alarm_topic.arn)
