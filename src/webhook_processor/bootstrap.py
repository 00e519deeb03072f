"""The composition root: the one place where the local processor's adapters are chosen.

Entry points call :func:`build_local`; library modules never build clients or read
configuration at import time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from webhook_processor.model import utc_now
from webhook_processor.pipeline import DEFAULT_MAX_BODY_BYTES, Pipeline
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Provider
from webhook_processor.publishing.dispatcher import Dispatcher
from webhook_processor.publishing.sinks import HttpSink, JsonLinesSink, Sink
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
