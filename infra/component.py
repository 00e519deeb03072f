"""``WebhookProcessor``: every AWS resource of the processor, as one Pulumi component.

(The module is not called ``webhook_processor.py``: Pulumi puts this folder first on
``sys.path``, where that name would shadow the application package the table schema comes from.)

Shape: a customer-managed KMS key (rotation on) encrypts the table, the topic, the dead-letter
queue, the parameters, the log groups and the functions' environment. The receiver function,
behind a public Function URL (the provider's signature is the authentication), writes to
DynamoDB; the table's stream feeds the publisher function, which publishes to SNS. Failures end
in one SQS dead-letter queue; alarms watch it and both functions.

One module builds each part, in the order the parts depend on one another:
``functions.build_roles`` (the roles come first: the key policy names them), ``keys`` (the key,
its policy and alias), ``data`` (table, topics, queue, parameters), ``functions`` (functions,
log groups, policies, URL, triggers), ``alarms``. ``scope`` names, tags and parents them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import pulumi
import pulumi_aws as aws

from alarms import build_alarms
from data import build_data
from functions import build_functions, build_roles
from keys import KeyUsers, build_keys
from scope import Scope


@dataclass(frozen=True)
class WebhookProcessorArgs:
    """The component's settings; ``__main__`` fills them from stack configuration."""

    environment_suffix: str
    artifact_path: str
    lambda_memory_mb: int = 1024
    lambda_timeout_seconds: int = 60
    lambda_runtime: str = "python3.13"
    log_retention_days: int = 30
    #: Unset by default: reserving concurrency fails on accounts with a small unreserved pool.
    reserved_concurrency: int | None = None
    cost_center: str = "payments"
    owner: str = "payments-platform"
    #: Provider name -> signing secret (a Pulumi secret). Providers left out get no parameter,
    #: and the receiver answers their deliveries with 503 until one is set.
    signing_secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: Who deploys the stack and who operates it (reads the dead-letter queue, the table, the
    #: secrets): IAM principal ARNs the key policy names. Empty: the account root, so the
    #: account's IAM policies decide (the README lists what each needs).
    deployer_principal_arns: Sequence[str] = ()
    operator_principal_arns: Sequence[str] = ()
    #: The notification URL registered with Square, which Square signs (the ``webhook_url``
    #: output with ``square``, or a custom domain in front of it). Unset, the receiver answers
    #: Square's deliveries with 503 until it is set.
    square_notification_url: str | None = None
    secrets_ttl_seconds: int = 300
    async_retries: int = 2
    async_max_event_age_seconds: int = 3600
    stream_batch_size: int = 100
    stream_max_retries: int = 5
    stream_max_record_age_seconds: int = 86400


class WebhookProcessor(pulumi.ComponentResource):
    """The processor's AWS resources, every one a child of this component."""

    def __init__(
        self, name: str, args: WebhookProcessorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webhook-processor:index:WebhookProcessor", name, None, opts)
        scope = Scope(
            parent=self,
            suffix=args.environment_suffix,
            cost_center=args.cost_center,
            owner=args.owner,
            account=aws.get_caller_identity_output().account_id,
            region=aws.get_region_output().region,
        )
        self.roles = build_roles(scope)
        self.keys = build_keys(
            scope,
            {"receiver": self.roles.receiver, "publisher": self.roles.publisher},
            KeyUsers(args.deployer_principal_arns, args.operator_principal_arns),
        )
        self.data = build_data(scope, self.keys.key, args.signing_secrets)
        self.functions = build_functions(scope, args, self.roles, self.keys.key, self.data)
        self.alarms = build_alarms(
            scope,
            topic=self.data.alarm_topic,
            dead_letters=self.data.dead_letters,
            functions={"receiver": self.functions.receiver, "publisher": self.functions.publisher},
        )

        #: The stack outputs by export name: ``__main__`` exports exactly what is registered here.
        self.outputs: Mapping[str, pulumi.Output[str]] = MappingProxyType(
            {
                "webhook_url": self.functions.webhook_url,
                "table_name": self.data.table.name,
                "topic_arn": self.data.topic.arn,
                "dlq_url": self.data.dead_letters.url,
                "kms_key_arn": self.keys.key.arn,
                "receiver_function_name": self.functions.receiver.name,
                "publisher_function_name": self.functions.publisher.name,
                "alarm_topic_arn": self.data.alarm_topic.arn,
            }
        )
        self.register_outputs(self.outputs)
