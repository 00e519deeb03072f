"""The composition root: the one place where adapters are chosen.

Entry points call :func:`build_local`, :func:`build_receiver` or :func:`build_publisher` (and the
CLI's small helpers :func:`local_secrets` and :func:`open_local_store`); library modules never
build clients or read configuration at import time. Every builder takes the adapters it would
choose as optional overrides, so tests run the real wiring on fakes (``MemoryStore``,
``MemorySink``) instead of patching it. Adapters are imported inside the builder that chooses
them: the Lambda functions never load SQLite or the local server, and the local processor runs
without boto3.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webhook_processor.limits import DEFAULT_MAX_BODY_BYTES
from webhook_processor.model import utc_now

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

    from webhook_processor.counters import Counters
    from webhook_processor.pipeline import Pipeline
    from webhook_processor.providers.base import Provider
    from webhook_processor.providers.generic import GenericProvider
    from webhook_processor.publishing.base import Sink
    from webhook_processor.publishing.dispatcher import Dispatcher
    from webhook_processor.publishing.stream import StreamPublisher
    from webhook_processor.signing_secrets import LocalSecrets
    from webhook_processor.storage.base import LocalStore
    from webhook_processor.storage.sqlite import SQLiteStore

DATA_DIR_ENV = "WEBHOOK_DATA_DIR"
#: The URL registered with Square for the local processor (a tunnel's, say): Square signs it.
SQUARE_URL_ENV = "WEBHOOK_SQUARE_NOTIFICATION_URL"
#: Where ``serve`` listens and ``send`` posts by default.
DEFAULT_BASE_URL = "http://127.0.0.1:8080"
#: The inspector's access token: with it, the page is served beyond loopback (to the token only).
INSPECTOR_TOKEN_ENV = "WEBHOOK_INSPECTOR_TOKEN"  # noqa: S105 - a variable name, not a value


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV, ".data"))


def default_square_notification_url() -> str | None:
    return os.environ.get(SQUARE_URL_ENV) or None


def default_inspector_token() -> str | None:
    return os.environ.get(INSPECTOR_TOKEN_ENV) or None


@dataclass(frozen=True)
class LocalConfig:
    """Everything ``serve`` and the inspection commands can be told."""

    data_dir: Path = field(default_factory=default_data_dir)
    events_file: Path | None = None
    subscribers: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_attempts: int = 5
    retry_base_delay: float = 1.0
    #: How often a sink with dead letters of its own making is probed for recovery.
    recovery_probe_seconds: float = 30.0
    #: Where the processor is reached: ``serve``'s own address, or ``send --url``.
    base_url: str = DEFAULT_BASE_URL
    #: The notification URL registered with Square; unset, the processor's own
    #: ``{base_url}/webhooks/square``, so ``send square`` works against ``serve`` out of the box.
    square_notification_url: str | None = field(default_factory=default_square_notification_url)
    #: With a token, the inspector (``GET /`` and ``/inspector/``) answers only requests that
    #: carry it; without one, only requests to a loopback-bound server (see ``inspector.access``).
    inspector_token: str | None = field(default_factory=default_inspector_token)

    @property
    def square_url(self) -> str:
        """The URL the Square adapter verifies (and ``send`` signs) against."""
        return self.square_notification_url or f"{self.base_url.rstrip('/')}/webhooks/square"

    @property
    def database(self) -> Path:
        return self.data_dir / "webhooks.db"

    @property
    def secrets_file(self) -> Path:
        return self.data_dir / "secrets.json"

    @property
    def events_path(self) -> Path:
        return self.events_file or self.data_dir / "events.jsonl"


@dataclass
class LocalProcessor:
    """The wired local processor. ``start`` runs the dispatcher; ``close`` stops everything."""

    config: LocalConfig
    providers: Mapping[str, Provider]
    secrets: LocalSecrets
    store: LocalStore
    dispatcher: Dispatcher
    pipeline: Pipeline
    #: What it has done since start, for the inspector.
    counters: Counters

    def start(self) -> None:
        self.dispatcher.start()

    def close(self) -> None:
        self.dispatcher.stop()
        self.store.close()


def build_local(
    config: LocalConfig,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utc_now,
    providers: Mapping[str, Provider] | None = None,
    store: LocalStore | None = None,
    sinks: Sequence[Sink] | None = None,
) -> LocalProcessor:
    """The local processor: SQLite, the events file and ``config.subscribers`` unless given."""
    from webhook_processor.counters import Counters
    from webhook_processor.pipeline import Pipeline
    from webhook_processor.publishing.dispatcher import Dispatcher
    from webhook_processor.publishing.sinks import HttpSink, JsonLinesSink

    if providers is None:
        providers = local_providers(config)
    if store is None:
        from webhook_processor.storage.sqlite import SQLiteStore

        store = SQLiteStore(config.database)
    if sinks is None:
        sinks = [JsonLinesSink(config.events_path), *map(HttpSink, config.subscribers)]
    secrets = local_secrets(config, environ)
    counters = Counters(clock)
    dispatcher = Dispatcher(
        store,
        sinks,
        clock=clock,
        max_attempts=config.max_attempts,
        base_delay=config.retry_base_delay,
        probe_interval=config.recovery_probe_seconds,
        observer=counters,
    )
    pipeline = Pipeline(
        providers,
        secrets,
        store,
        clock=clock,
        max_body_bytes=config.max_body_bytes,
        on_accepted=dispatcher.wake,
    )
    return LocalProcessor(config, providers, secrets, store, dispatcher, pipeline, counters)


def local_providers(config: LocalConfig) -> Mapping[str, Provider]:
    """Every adapter, configured as ``serve`` verifies and ``send`` signs."""
    from webhook_processor.providers import default_providers

    return default_providers(square_notification_url=config.square_url)


def local_secrets(config: LocalConfig, environ: Mapping[str, str] | None = None) -> LocalSecrets:
    """The secrets ``serve`` verifies with and ``send`` signs with: environment, then file."""
    from webhook_processor.signing_secrets import LocalSecrets

    return LocalSecrets(config.secrets_file, environ)


def open_local_store(config: LocalConfig) -> SQLiteStore:
    """The existing database of ``config`` for inspection; never creates an empty one."""
    from webhook_processor.errors import StorageUnavailable
    from webhook_processor.storage.sqlite import SQLiteStore

    if not config.database.exists():
        raise StorageUnavailable(
            f"no database at {config.database}: start 'webhook-processor serve' first, "
            "or pass --data-dir"
        )
    return SQLiteStore(config.database)


# -- AWS --------------------------------------------------------------------------------------


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
        )


def aws_client_config() -> Config:
    """Timeouts and retries well inside the functions' 60 s: a hung call fails fast."""
    from botocore.config import Config

    return Config(
        connect_timeout=2,
        read_timeout=5,
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
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from webhook_processor.pipeline import Pipeline
    from webhook_processor.providers import default_providers, direct_invocation_adapter
    from webhook_processor.signing_secrets import SsmSecrets
    from webhook_processor.storage.dynamodb import DynamoDBStore

    if not config.table_name:
        raise ValueError("TABLE_NAME is not set: the receiver needs its DynamoDB table")
    session = session or boto3.Session()
    client_config = aws_client_config()
    store = DynamoDBStore(config.table_name, session.client("dynamodb", config=client_config))
    parameters = SSMProvider(boto3_client=session.client("ssm", config=client_config))
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

    from webhook_processor.publishing.handoff import FailureQueue
    from webhook_processor.publishing.sns import SnsSink
    from webhook_processor.publishing.stream import StreamPublisher
    from webhook_processor.storage.publications import Publications

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


class _ClientOnFirstUse:
    """Stands for a boto3 client, and makes it when one of its methods is first asked for."""

    def __init__(self, make: Callable[[], object]) -> None:
        self._make = make
        self._client: object | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)
