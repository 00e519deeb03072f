"""Reconciling on one machine: which providers can be reconciled (an events API and a key),
and the loop ``serve --reconcile-every`` runs.

A key comes from ``WEBHOOK_API_KEY_<PROVIDER>`` or the secrets file's ``api_keys``; the API
root from ``WEBHOOK_API_BASE_<PROVIDER>`` (a sandbox, a test emulator on loopback), checked
before any key is sent (:func:`~webhook_processor.reconcile.apis.check_base`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from webhook_processor.errors import ProviderNotConfigured, WebhookError
from webhook_processor.local.secrets import LocalSecrets
from webhook_processor.model import utc_now
from webhook_processor.providers.base import Provider
from webhook_processor.reconcile.apis import (
    DEFAULT_BASES,
    EventApi,
    SquareEvents,
    StripeEvents,
)
from webhook_processor.reconcile.endpoints import EndpointLister
from webhook_processor.reconcile.run import (
    ReconcileBusy,
    Reconciler,
    ReconcileStore,
    Source,
    no_source,
)
from webhook_processor.reconcile.transport import Transport, http_transport
from webhook_processor.storage.journal import Listing

log = logging.getLogger(__name__)

API_BASE_PREFIX = "WEBHOOK_API_BASE_"
_APIS: dict[str, type[StripeEvents] | type[SquareEvents]] = {
    "stripe": StripeEvents,
    "square": SquareEvents,
}


def event_api(
    provider: str,
    secrets: LocalSecrets,
    environ: Mapping[str, str],
    transport: Transport | None = None,
) -> EventApi | None:
    """The provider's events API with its key, or None if it has no key; ProviderNotConfigured
    for a provider without an events API or a root that would send the key in clear text."""
    return _api(provider, secrets, environ, transport)


def endpoint_api(
    provider: str,
    secrets: LocalSecrets,
    environ: Mapping[str, str],
    transport: Transport | None = None,
) -> EndpointLister | None:
    """The same API, with the same key and root, asked about the provider's webhook endpoints."""
    return _api(provider, secrets, environ, transport)


def _api(
    provider: str,
    secrets: LocalSecrets,
    environ: Mapping[str, str],
    transport: Transport | None,
) -> StripeEvents | SquareEvents | None:
    api_type = _APIS.get(provider)
    if api_type is None:
        raise ProviderNotConfigured(no_source(provider))
    key = secrets.api_key(provider)
    if key is None:
        return None
    base = environ.get(API_BASE_PREFIX + provider.upper()) or DEFAULT_BASES[provider]
    return api_type(key, base, transport or http_transport())


def listable(secrets: LocalSecrets, environ: Mapping[str, str]) -> list[str]:
    """The providers that have an events API and a key (a key that cannot be read counts as
    none here; ``reconcile`` says what is wrong with it)."""
    found = []
    for provider in sorted(_APIS):
        try:
            if secrets.api_key(provider):
                found.append(provider)
        except WebhookError:
            continue
    return found


def build_reconciler(
    providers: Mapping[str, Provider],
    secrets: LocalSecrets,
    store: ReconcileStore,
    environ: Mapping[str, str],
    *,
    only: str | None = None,
    transport: Transport | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_recovered: Callable[[], None] | None = None,
) -> Reconciler:
    """A reconciler of every provider that has an events API and a key (of ``only``)."""
    sources = {}
    for name in [only] if only else sorted(_APIS):
        api = event_api(name, secrets, environ, transport)
        normalise = getattr(providers.get(name), "normalise", None)
        if api is not None and normalise is not None:
            sources[name] = Source(api, normalise)
    return Reconciler(sources, store, clock=clock, on_recovered=on_recovered)


class ReconcileLoop:
    """Reconciles every provider with a key every ``interval`` seconds, from its high-water
    mark (stored: a restart resumes); a run that fails is logged and tried at the next tick."""

    def __init__(self, reconciler: Reconciler, interval: float) -> None:
        self._reconciler = reconciler
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconcile", daemon=True)

    @property
    def providers(self) -> list[str]:
        """The providers it reconciles."""
        return list(self._reconciler.sources)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def run_once(self) -> None:
        for provider in self._reconciler.sources:
            try:
                report = self._reconciler.run(provider)
            except ReconcileBusy:
                log.info("reconcile %s: another run has it", provider)
            except WebhookError as exc:
                log.warning("reconcile %s failed: %s", provider, exc.detail)
            except Exception as exc:  # the loop outlives anything one run meets
                log.error("reconcile %s failed unexpectedly (%s)", provider, type(exc).__name__)
            else:
                log.info(
                    "reconciled %s: listed %d, recovered %d",
                    provider,
                    len(report.listings),
                    report.count(Listing.RECOVERED),
                )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._interval)
