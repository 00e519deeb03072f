"""The AWS wing's composition root: the one place where its adapters are chosen.

The Lambda handlers call :func:`build_receiver`, :func:`build_publisher` and
:func:`build_reconciler`; the ``aws`` commands call :func:`build_operator`. Each takes a
``boto3.Session`` (the functions' own, :func:`functions_session`, or the operator's) and builds
its clients from it; nothing is built at import time. The table and queue clients of the
publisher, needed only to hand a failure off, are made on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from webhook_processor.limits import DEFAULT_MAX_BODY_BYTES
from webhook_processor.model import utc_now

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

    from webhook_processor.aws.failure_queues import FailureQueueReader, Redriver
    from webhook_processor.aws.reconciler import Reconciliation
    from webhook_processor.aws.stream import StreamPublisher
    from webhook_processor.pipeline import Pipeline
    from webhook_processor.providers.generic import GenericProvider
    from webhook_processor.reconcile.run import ReconcileStore
    from webhook_processor.reconcile.transport import Transport
    from webhook_processor.storage.base import Listings


#: botocore's models cut to the operations the functions call (``tools/service_models.py``).
MODELS: Final = Path(__file__).parent / "models"


def functions_session(hook: Callable[[Any], None] | None = None) -> boto3.Session:
    """The functions' boto3 session: its clients load the cut models first (an SSM client is
    made in 5 ms instead of 35-50), and ``hook`` is given its event system before any client is
    made (each copies its session's handlers): tracing registers there."""
    import boto3

    session = boto3.Session()
    botocore_session: Any = session._session  # boto3 exposes no other way to its loader
    botocore_session.get_component("data_loader").search_paths.insert(0, str(MODELS))
    if hook is not None:
        hook(session.events)
    return session


@dataclass(frozen=True)
class AwsConfig:
    """The Lambda functions' settings, from their environment (set by the Pulumi program)."""

    table_name: str = ""
    topic_arn: str = ""
    #: Where the publisher hands off the events it gave up retrying in the stream.
    publish_failures_url: str = ""
    #: How long the publisher retries a record in place before handing its event off.
    handoff_after_seconds: int = 300
    secrets_path: str = "/webhook-processor/secrets"
    secrets_ttl_seconds: int = 300
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: The notification URL registered with Square; None answers Square's deliveries with 503
    #: (it retries) until the stack sets ``squareNotificationUrl``.
    square_notification_url: str | None = None
    #: The reconciler's events-API keys: provider -> SSM SecureString name
    #: (``API_KEY_PARAMETERS``, a JSON object), and API roots overriding the providers' own
    #: (``API_BASE_<PROVIDER>``: a sandbox, a test emulator on loopback).
    api_key_parameters: str = ""
    api_bases: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AwsConfig:
        defaults = cls()
        return cls(
            table_name=environ.get("TABLE_NAME", ""),
            topic_arn=environ.get("TOPIC_ARN", ""),
            publish_failures_url=environ.get("PUBLISH_FAILURES_URL", ""),
            handoff_after_seconds=int(
                environ.get("HANDOFF_AFTER_SECONDS", defaults.handoff_after_seconds)
            ),
            secrets_path=environ.get("SECRETS_PATH", defaults.secrets_path),
            secrets_ttl_seconds=int(
                environ.get("SECRETS_TTL_SECONDS", defaults.secrets_ttl_seconds)
            ),
            max_body_bytes=int(environ.get("MAX_BODY_BYTES", defaults.max_body_bytes)),
            square_notification_url=environ.get("SQUARE_NOTIFICATION_URL") or None,
            api_key_parameters=environ.get("API_KEY_PARAMETERS", ""),
            api_bases={
                name.removeprefix("API_BASE_").lower(): value
                for name, value in environ.items()
                if name.startswith("API_BASE_") and value
            },
        )


def aws_client_config() -> Config:
    """The functions' clients (DynamoDB, SNS, SQS, SSM): 2 s to connect, 5 s between bytes of
    an answer, 3 attempts in all with the standard mode's backoff (botocore's retries/standard.py:
    at most 1 s then 2 s after a throttle, 50 ms then 100 ms otherwise), so a call that hangs
    fails within about 3 x (2 + 5) + 3 = 24 s (34 s if AWS asks for longer pauses: botocore
    adds at most 5 s to each), inside the functions' 60 s, and the platform
    retries what failed (the provider, the stream)."""
    from botocore.config import Config

    return Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"total_max_attempts": 3, "mode": "standard"},
        tcp_keepalive=True,
    )


#: Lambda's longest timeout: a synchronous invocation is waited for this long.
INVOKE_READ_SECONDS = 900 + 10


def operator_client_config(*, invokes: bool = False) -> Config:
    """The ``aws`` commands' clients: 5 s to connect, 30 s between bytes, 3 attempts. A client
    that invokes a function synchronously (``redrive``, ``reconcile``) waits for the function's
    whole run (at most Lambda's 900 s) and makes ONE attempt: botocore would retry a read
    timeout, and the function may have run."""
    from botocore.config import Config

    if invokes:
        return Config(
            connect_timeout=5,
            read_timeout=INVOKE_READ_SECONDS,
            retries={"total_max_attempts": 1, "mode": "standard"},
            tcp_keepalive=True,
        )
    return Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"total_max_attempts": 3, "mode": "standard"},
        tcp_keepalive=True,
    )


@dataclass(frozen=True)
class Receiver:
    """The receiver function's parts: the pipeline, and the adapter that reads the original
    system's payloads on IAM-authenticated direct invocations."""

    pipeline: Pipeline
    direct: GenericProvider


def build_receiver(
    config: AwsConfig,
    session: boto3.Session | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> Receiver:
    """The receiver function: DynamoDB store, SSM secrets, every provider."""
    import boto3

    from webhook_processor.aws.dynamodb import DynamoDBStore
    from webhook_processor.aws.secrets import SsmParameters, SsmSecrets
    from webhook_processor.pipeline import Pipeline
    from webhook_processor.providers import default_providers, direct_invocation_adapter

    if not config.table_name:
        raise ValueError("TABLE_NAME is not set: the receiver needs its DynamoDB table")
    session = session or boto3.Session()
    client_config = aws_client_config()
    store = DynamoDBStore(config.table_name, session.client("dynamodb", config=client_config))
    parameters = SsmParameters(session.client("ssm", config=client_config))
    secrets = SsmSecrets(config.secrets_path, parameters, config.secrets_ttl_seconds)
    providers = default_providers(square_notification_url=config.square_notification_url)
    pipeline = Pipeline(
        providers, secrets, store, clock=clock, max_body_bytes=config.max_body_bytes
    )
    return Receiver(pipeline, direct_invocation_adapter(providers))


def build_publisher(
    config: AwsConfig,
    session: boto3.Session | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> StreamPublisher:
    """The stream publisher: the SNS topic, and the table and queue it hands failures off to."""
    from datetime import timedelta

    import boto3

    from webhook_processor.aws.handoff import FailureQueue
    from webhook_processor.aws.publications import Publications
    from webhook_processor.aws.sns import SnsSink
    from webhook_processor.aws.stream import StreamPublisher

    missing = [
        name
        for name, value in (
            ("TOPIC_ARN", config.topic_arn),
            ("TABLE_NAME", config.table_name),
            ("PUBLISH_FAILURES_URL", config.publish_failures_url),
        )
        if not value
    ]
    if missing:
        raise ValueError(
            f"{', '.join(missing)} not set: the publisher needs its SNS topic, its table and "
            "its publish-failures queue"
        )
    session = session or boto3.Session()
    client_config = aws_client_config()
    # Only a record the topic refused for HANDOFF_AFTER_SECONDS needs the table and the queue:
    # their clients (about 30 ms of a cold start each) are made when that first happens.
    table: Any = _ClientOnFirstUse(lambda: session.client("dynamodb", config=client_config))
    queue: Any = _ClientOnFirstUse(lambda: session.client("sqs", config=client_config))
    return StreamPublisher(
        SnsSink(config.topic_arn, session.client("sns", config=client_config)),
        Publications(config.table_name, table),
        FailureQueue(config.publish_failures_url, queue),
        handoff_after=timedelta(seconds=config.handoff_after_seconds),
        clock=clock,
    )


def build_reconciler(
    config: AwsConfig,
    session: boto3.Session | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    store: ReconcileStore | None = None,
    key: Callable[[str], str] | None = None,
    transport: Transport | None = None,
) -> Reconciliation:
    """The reconciler function: the providers ``API_KEY_PARAMETERS`` names, their keys from
    SSM (cached for ``SECRETS_TTL_SECONDS``), the table as store and journal, the standard
    library's HTTP client. Each adapter can be overridden (tests pass fakes)."""
    from webhook_processor.aws.reconciler import Reconciliation, key_parameters
    from webhook_processor.providers.square import SquareProvider
    from webhook_processor.providers.stripe import StripeProvider
    from webhook_processor.reconcile.apis import DEFAULT_BASES, check_base
    from webhook_processor.reconcile.transport import http_transport

    parameters = key_parameters(config.api_key_parameters)
    bases = {
        provider: check_base(provider, config.api_bases.get(provider, DEFAULT_BASES[provider]))
        for provider in parameters
    }
    if store is None or key is None:
        import boto3

        made = session or boto3.Session()
        if store is None:
            from webhook_processor.aws.dynamodb import DynamoDBStore

            if not config.table_name:
                raise ValueError("TABLE_NAME is not set: the reconciler needs its DynamoDB table")
            client = made.client("dynamodb", config=aws_client_config())
            store = DynamoDBStore(config.table_name, client)
        if key is None:
            from webhook_processor.aws.secrets import SsmApiKeys, SsmParameters

            ssm = SsmParameters(made.client("ssm", config=aws_client_config()))
            key = SsmApiKeys(parameters, ssm, config.secrets_ttl_seconds).key
    return Reconciliation(
        providers=tuple(sorted(parameters)),
        key=key,
        normalisers={
            "stripe": StripeProvider().normalise,
            "square": SquareProvider(config.square_notification_url).normalise,
        },
        store=store,
        transport=transport or http_transport(),
        bases=bases,
        clock=clock,
    )


class _ClientOnFirstUse:
    """Stands for a boto3 client, and makes it when one of its methods is first asked for."""

    def __init__(self, make: Callable[[], object]) -> None:
        self._make = make
        self._client: object | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)


@dataclass(frozen=True)
class Operator:
    """What the ``aws`` commands work with: the table's listings and the redrive (each built
    when a command asks for it), and the failure queues they were asked for."""

    store: Callable[[], Listings]
    queues: list[FailureQueueReader]
    redriver: Callable[[], Redriver]


def build_operator(
    session: boto3.Session,
    *,
    table_name: str | None,
    queue_urls: Mapping[str, str],
    topic_arn: str | None = None,
    receiver_function_name: str | None = None,
    receive_wait_seconds: int = 1,
) -> Operator:
    """The operator's view of one stack, with the operator's own session and credentials.
    Clients are made when a command first uses them; a redrive needs the table, the topic and
    the receiver's name (ValueError otherwise)."""
    from webhook_processor.aws.dynamodb import DynamoDBStore
    from webhook_processor.aws.failure_queues import (
        PUBLISHER,
        QueueReader,
        Redriver,
        StreamReader,
        invoker,
    )
    from webhook_processor.aws.handoff import FailureQueue
    from webhook_processor.aws.publications import Publications
    from webhook_processor.aws.sns import SnsSink

    config = operator_client_config()
    table: Any = _ClientOnFirstUse(lambda: session.client("dynamodb", config=config))
    sqs: Any = _ClientOnFirstUse(lambda: session.client("sqs", config=config))
    queues: list[FailureQueueReader] = [
        QueueReader(name, url, sqs, wait_seconds=receive_wait_seconds)
        for name, url in queue_urls.items()
    ]

    def store() -> DynamoDBStore:
        if not table_name:
            raise ValueError("the listings need the table")
        return DynamoDBStore(table_name, table)

    def redriver() -> Redriver:
        if not (table_name and topic_arn and receiver_function_name):
            raise ValueError("a redrive needs the table, the topic and the receiver")
        return Redriver(
            invoker(
                session.client("lambda", config=operator_client_config(invokes=True)),
                receiver_function_name,
            ),
            store(),
            Publications(table_name, table),
            SnsSink(topic_arn, session.client("sns", config=config)),
            stream=StreamReader(session.client("dynamodbstreams", config=config)),
            handoffs=(
                FailureQueue(queue_urls[PUBLISHER], sqs) if PUBLISHER in queue_urls else None
            ),
        )

    return Operator(store, queues, redriver)
