"""The composition root: the one place where adapters are chosen.

Entry points call :func:`build_local`, :func:`build_receiver` or :func:`build_publisher`;
library modules never build clients or read configuration at import time. The AWS builders
import boto3 lazily, so the local processor runs without the ``aws`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from webhook_processor.model import utc_now
from webhook_processor.pipeline import DEFAULT_MAX_BODY_BYTES, Pipeline
from webhook_processor.providers import default_providers

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

    from webhook_processor.providers.base import Provider
    from webhook_processor.publishing.dispatcher import Dispatcher
    from webhook_processor.publishing.sns import SnsPublisher
    from webhook_processor.signing_secrets import LocalSecrets
    from webhook_processor.storage.sqlite import SQLiteStore

DATA_DIR_ENV = "WEBHOOK_DATA_DIR"


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV, ".data"))


@dataclass(frozen=True)
class LocalConfig:
    """Everything ``serve`` and the inspection commands can be told."""

    data_dir: Path = field(default_factory=default_data_dir)
    events_file: Path | None = None
    subscribers: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_attempts: int = 5
    retry_base_delay: float = 1.0

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
    store: SQLiteStore
    dispatcher: Dispatcher
    pipeline: Pipeline

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
) -> LocalProcessor:
    from webhook_processor.publishing.dispatcher import Dispatcher
    from webhook_processor.publishing.sinks import HttpSink, JsonLinesSink, Sink
    from webhook_processor.signing_secrets import LocalSecrets
    from webhook_processor.storage.sqlite import SQLiteStore

    providers = default_providers()
    secrets = LocalSecrets(config.secrets_file, environ)
    store = SQLiteStore(config.database)
    sinks: list[Sink] = [JsonLinesSink(config.events_path)]
    sinks += [HttpSink(url) for url in config.subscribers]
    dispatcher = Dispatcher(
        store,
        sinks,
        clock=clock,
        max_attempts=config.max_attempts,
        base_delay=config.retry_base_delay,
    )
    pipeline = Pipeline(
        providers,
        secrets,
        store,
        clock=clock,
        max_body_bytes=config.max_body_bytes,
        on_accepted=dispatcher.wake,
    )
    return LocalProcessor(config, providers, secrets, store, dispatcher, pipeline)


# -- AWS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwsConfig:
    """The Lambda functions' settings, from their environment (set by the Pulumi program)."""

    table_name: str = ""
    topic_arn: str = ""
    secrets_path: str = "/webhook-processor/secrets"
    secrets_ttl_seconds: int = 300
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AwsConfig:
        defaults = cls()
        return cls(
            table_name=environ.get("TABLE_NAME", ""),
            topic_arn=environ.get("TOPIC_ARN", ""),
            secrets_path=environ.get("SECRETS_PATH", defaults.secrets_path),
            secrets_ttl_seconds=int(
                environ.get("SECRETS_TTL_SECONDS", defaults.secrets_ttl_seconds)
            ),
            max_body_bytes=int(environ.get("MAX_BODY_BYTES", defaults.max_body_bytes)),
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


def build_receiver(
    config: AwsConfig,
    session: boto3.Session | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> Pipeline:
    """The receiver function's pipeline: DynamoDB store, SSM secrets."""
    import boto3
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from webhook_processor.signing_secrets import SsmSecrets
    from webhook_processor.storage.dynamodb import DynamoDBStore

    if not config.table_name:
        raise ValueError("TABLE_NAME is not set: the receiver needs its DynamoDB table")
    session = session or boto3.Session()
    client_config = aws_client_config()
    store = DynamoDBStore(config.table_name, session.client("dynamodb", config=client_config))
    parameters = SSMProvider(boto3_client=session.client("ssm", config=client_config))
    secrets = SsmSecrets(config.secrets_path, parameters, config.secrets_ttl_seconds)
    return Pipeline(
        default_providers(), secrets, store, clock=clock, max_body_bytes=config.max_body_bytes
    )


def build_publisher(config: AwsConfig, session: boto3.Session | None = None) -> SnsPublisher:
    """The stream publisher's sink: the SNS topic."""
    import boto3

    from webhook_processor.publishing.sns import SnsPublisher

    if not config.topic_arn:
        raise ValueError("TOPIC_ARN is not set: the publisher needs its SNS topic")
    session = session or boto3.Session()
    return SnsPublisher(config.topic_arn, session.client("sns", config=aws_client_config()))
