"""``WebhookProcessor``: every AWS resource of the processor, as one Pulumi component.

(The module is not called ``webhook_processor.py``: Pulumi puts this folder first on
``sys.path``, where that name would shadow the application package the table schema comes from.)

Shape: a customer-managed KMS key (rotation on) encrypts the table, the topics, the queues,
the parameters, the log groups and the functions' environment. The receiver function, behind a
public Function URL (the provider's signature is the authentication), writes to DynamoDB; the
table's stream feeds the publisher function, which publishes to SNS. Failed direct invocations
of the receiver end in its dead-letter queue, events the publisher gives up on in the
publish-failures queue; alarms watch both queues, both functions and the failures that do not
fail an invocation.

One module builds each part, in the order the parts depend on one another:
``functions.build_roles`` (the roles come first: the key policy names them), ``keys`` (the key,
its policy and alias), ``data`` (table, topics, queues, parameters), ``functions`` (functions,
log groups, policies, URL, triggers), ``reconciler`` (only when ``apiKeys`` holds a key: the
function that recovers missed webhooks from the providers' events APIs, on a schedule),
``edge`` (only when configured: CloudFront and AWS WAF in front of the URL), ``alarms``,
``quiet`` (a quiet alarm per provider with a signing secret, an endpoint alarm per API key).
``scope`` names, tags and parents them all; ``settings`` holds the component's arguments and
checks them before anything is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pulumi
import pulumi_aws as aws
from quiet import build_quiet_alarms, quiet_widths

from alarms import build_alarms
from data import build_data
from edge import build_edge
from functions import build_functions, build_roles
from keys import KeyUsers, build_keys
from reconciler import build_reconciler
from scope import Scope
from settings import WebhookProcessorArgs


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
        # Checked before any resource is registered, as the other settings are.
        quiet = quiet_widths(args.quiet_alarms, list(args.signing_secrets))
        self.roles = build_roles(scope, reconciler=bool(args.api_keys))
        self.keys = build_keys(
            scope,
            self.roles.by_function(),
            KeyUsers(args.deployer_principal_arns, args.operator_principal_arns),
        )
        self.data = build_data(scope, self.keys.key, args.signing_secrets, args.api_keys)
        self.functions = build_functions(scope, args, self.roles, self.keys.key, self.data)
        self.reconciler = (
            build_reconciler(scope, args, self.roles.reconciler, self.keys.key, self.data)
            if self.roles.reconciler is not None
            else None
        )
        functions = {"receiver": self.functions.receiver, "publisher": self.functions.publisher}
        if self.reconciler is not None:
            functions["reconciler"] = self.reconciler.function
        self.edge = (
            build_edge(scope, args.edge, self.functions.receiver, self.functions.url)
            if args.edge.enabled
            else None
        )
        self.alarms = build_alarms(
            scope,
            topic=self.data.alarm_topic,
            data=self.data,
            functions=functions,
            settings=args.alarms,
            handoff_after=args.handoff_after_seconds,
            email=args.alarm_email,
            edge=self.edge,
        )
        self.quiet_alarms = build_quiet_alarms(
            scope,
            self.data.alarm_topic,
            quiet,
            list(args.api_keys),
            args.reconcile_interval_minutes,
        )

        #: The stack outputs by export name: ``__main__`` exports exactly what is registered here.
        self.outputs: Mapping[str, pulumi.Output[str]] = MappingProxyType(
            {
                "webhook_url": (
                    self.functions.webhook_url if self.edge is None else self.edge.webhook_url
                ),
                "table_name": self.data.table.name,
                "topic_arn": self.data.topic.arn,
                "dlq_url": self.data.dead_letters.url,
                "publish_failures_url": self.data.publish_failures.url,
                "kms_key_arn": self.keys.key.arn,
                "receiver_function_name": self.functions.receiver.name,
                "publisher_function_name": self.functions.publisher.name,
                "alarm_topic_arn": self.data.alarm_topic.arn,
                # What `webhook-processor aws reconcile` invokes, when there is a reconciler.
                **(
                    {"reconciler_function_name": self.reconciler.function.name}
                    if self.reconciler is not None
                    else {}
                ),
            }
        )
        self.register_outputs(self.outputs)
