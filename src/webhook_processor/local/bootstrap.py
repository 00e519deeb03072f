"""The local wing's composition root: the one place where its adapters are chosen.

``serve`` calls :func:`build_local`; the other commands call the small helpers
:func:`local_providers`, :func:`local_secrets` and :func:`open_local_store`. Library modules
never build adapters or read configuration at import time. Every builder takes the adapters it would
choose as optional overrides, so tests run the real wiring on fakes (``MemoryStore``,
``MemorySink``) instead of patching it. Adapters are imported inside the builder that chooses
them, so a command loads only what it uses.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from webhook_processor.limits import DEFAULT_MAX_BODY_BYTES
from webhook_processor.model import utc_now

if TYPE_CHECKING:
    from webhook_processor.local.counters import Counters
    from webhook_processor.local.dispatcher import Dispatcher
    from webhook_processor.local.reconciling import ReconcileLoop
    from webhook_processor.local.secrets import LocalSecrets
    from webhook_processor.local.sqlite.store import SQLiteStore
    from webhook_processor.local.volume import LaneStatus, Watch
    from webhook_processor.pipeline import Pipeline
    from webhook_processor.providers.base import Provider
    from webhook_processor.publishing.base import Sink
    from webhook_processor.reconcile.transport import Transport
    from webhook_processor.storage.base import LocalStore

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
    #: ``serve --delivery-timeout``: seconds one delivery to a subscriber may take in all.
    delivery_timeout: float = 10.0
    #: ``serve --stale-after``: a sink whose oldest undelivered event is older is behind.
    stale_after: float = 120.0
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
    #: ``serve --reconcile-every``: seconds between reconciliations of every provider with an
    #: events-API key; None: none.
    reconcile_every: float | None = None

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
    #: The delivery counts and the providers' word on our endpoints (``status``).
    watch: Watch
    #: ``serve --reconcile-every``'s loop; None without it.
    reconciling: ReconcileLoop | None = None
    #: Where its API keys and roots are read (``reconcile``, the completeness view).
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], datetime] = utc_now
    _lanes_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _lanes_kept: tuple[float, list[LaneStatus] | None] = field(default=(0.0, None), repr=False)

    def lanes(self, max_age: float = 0.0) -> list[LaneStatus]:
        """Each sink's backlog, and whether it is behind (``config.stale_after``). Reads the
        outbox and the dead letters, unless a reading at most ``max_age`` seconds old is kept
        (``/healthz`` answers anyone: asking it often costs one reading per ``max_age``). Call
        it off the event loop."""
        from webhook_processor.local.volume import lane_statuses

        with self._lanes_lock:
            kept_at, kept = self._lanes_kept
            if kept is not None and time.monotonic() - kept_at <= max_age:
                return kept
            sinks = [sink.name for sink in self.dispatcher.sinks]
            found = lane_statuses(
                sinks, self.store.backlogs(), self.clock(), self.config.stale_after
            )
            self._lanes_kept = (time.monotonic(), found)
            return found

    def start(self) -> None:
        self.dispatcher.start()
        self.watch.start()
        if self.reconciling is not None:
            self.reconciling.start()

    def close(self) -> None:
        if self.reconciling is not None:
            self.reconciling.stop()
        self.dispatcher.stop()
        self.watch.stop()
        self.store.close()


def build_local(
    config: LocalConfig,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utc_now,
    providers: Mapping[str, Provider] | None = None,
    store: LocalStore | None = None,
    sinks: Sequence[Sink] | None = None,
    transport: Transport | None = None,
) -> LocalProcessor:
    """The local processor: SQLite, the events file and ``config.subscribers`` unless given."""
    from webhook_processor.local.counters import Counters
    from webhook_processor.local.dispatcher import Dispatcher
    from webhook_processor.local.sinks import HttpSink, JsonLinesSink
    from webhook_processor.local.volume import DeliveryCounter, Watch, ask_endpoints
    from webhook_processor.pipeline import Pipeline

    if providers is None:
        providers = local_providers(config)
    if store is None:
        from webhook_processor.local.sqlite.store import SQLiteStore

        store = SQLiteStore(config.database)
    if sinks is None:
        sinks = [
            JsonLinesSink(config.events_path),
            *(HttpSink(url, config.delivery_timeout) for url in config.subscribers),
        ]
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
    environ = os.environ if environ is None else environ
    watch = Watch(DeliveryCounter(store, clock), lambda: ask_endpoints(secrets, environ, transport))
    reconciling = None
    if config.reconcile_every is not None:
        from webhook_processor.local.reconciling import ReconcileLoop, build_reconciler

        reconciler = build_reconciler(
            providers,
            secrets,
            store,
            environ,
            transport=transport,
            clock=clock,
            on_recovered=dispatcher.wake,
        )
        reconciling = ReconcileLoop(reconciler, config.reconcile_every)
    return LocalProcessor(
        config,
        providers,
        secrets,
        store,
        dispatcher,
        pipeline,
        counters,
        watch,
        reconciling,
        environ,
        clock,
    )


def local_providers(config: LocalConfig) -> Mapping[str, Provider]:
    """Every adapter, configured as ``serve`` verifies and ``send`` signs."""
    from webhook_processor.providers import default_providers

    return default_providers(square_notification_url=config.square_url)


def local_secrets(config: LocalConfig, environ: Mapping[str, str] | None = None) -> LocalSecrets:
    """The secrets ``serve`` verifies with and ``send`` signs with: environment, then file."""
    from webhook_processor.local.secrets import LocalSecrets

    return LocalSecrets(config.secrets_file, environ)


def open_local_store(config: LocalConfig) -> SQLiteStore:
    """The existing database of ``config`` for inspection; never creates an empty one."""
    from webhook_processor.errors import StorageUnavailable
    from webhook_processor.local.sqlite.store import SQLiteStore

    if not config.database.exists():
        raise StorageUnavailable(
            f"no database at {config.database}: start 'webhook-processor serve' first, "
            "or pass --data-dir"
        )
    return SQLiteStore(config.database)
