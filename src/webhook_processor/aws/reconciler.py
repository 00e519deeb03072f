"""Reconciliation on AWS: the providers whose events-API key the stack holds, each reconciled
into the table by the core's :class:`~webhook_processor.reconcile.run.Reconciler`.

A provider's key is read when its run starts (from SSM, cached for a TTL as the signing secrets
are), so a rotated key is used within one TTL and one provider's missing or unreadable key fails
that provider's run alone. Each run claims the provider in the table's journal, so a scheduled
run and an operator's never list one provider at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from webhook_processor.errors import InvalidParameter, ProviderNotConfigured, WebhookError
from webhook_processor.reconcile.apis import (
    DEFAULT_BASES,
    SquareEvents,
    StripeEvents,
)
from webhook_processor.reconcile.endpoints import EndpointCheck, check_endpoints, not_asked
from webhook_processor.reconcile.run import (
    NO_EVENTS_API,
    Normalise,
    Reconciler,
    ReconcileStore,
    Source,
)
from webhook_processor.reconcile.transport import Transport
from webhook_processor.storage.journal import Report

#: Each provider with an events API: how its API is made from a key, a root and a transport.
EVENT_APIS: Final[Mapping[str, Callable[[str, str, Transport], StripeEvents | SquareEvents]]] = {
    "stripe": StripeEvents,
    "square": SquareEvents,
}
#: What an operator is told when the stack holds no key for a provider.
CONFIGURE_KEYS: Final = (
    "pulumi config set --secret --path 'apiKeys.{provider}' <key> in infra/, then pulumi up "
    "(docs/deploy.md, 'Recovering missed webhooks')"
)


def not_configured(provider: str) -> str:
    """Why this stack cannot reconcile ``provider``, and what to do."""
    if provider in NO_EVENTS_API:
        return NO_EVENTS_API[provider]
    if provider not in EVENT_APIS:
        return f"{provider} is no provider with an events API (those are: {', '.join(EVENT_APIS)})"
    return f"the stack holds no API key for {provider}: " + CONFIGURE_KEYS.format(provider=provider)


@dataclass(frozen=True)
class Reconciliation:
    """The reconciler function's parts: which providers have a key, how each one's key is read
    and its events normalised, the table, the transport and the clock."""

    providers: tuple[str, ...]
    key: Callable[[str], str]
    normalisers: Mapping[str, Normalise]
    store: ReconcileStore
    transport: Transport
    bases: Mapping[str, str]
    clock: Callable[[], datetime]

    def run(
        self,
        provider: str,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        dry_run: bool = False,
        seconds: float | None = None,
    ) -> Report:
        """Reconcile ``provider`` (see :meth:`Reconciler.run`) in at most ``seconds``;
        ProviderNotConfigured if the stack holds no key for it."""
        if provider not in self.providers:
            raise ProviderNotConfigured(not_configured(provider))
        source = Source(self._api(provider), self.normalisers[provider])
        reconciler = Reconciler({provider: source}, self.store, clock=self.clock)
        return reconciler.run(provider, since, until, dry_run=dry_run, seconds=seconds)

    def endpoints(self, provider: str) -> EndpointCheck:
        """What ``provider`` says of our webhook endpoints, with the same key and root; a key
        that cannot be read is ``unknown`` with its reason, like an API that fails."""
        if provider not in self.providers:
            raise ProviderNotConfigured(not_configured(provider))
        try:
            api = self._api(provider)
        except WebhookError as error:
            return not_asked(provider, f"not asked: {error.detail}")
        return check_endpoints(api)

    def _api(self, provider: str) -> StripeEvents | SquareEvents:
        return EVENT_APIS[provider](
            self.key(provider), self.bases.get(provider, DEFAULT_BASES[provider]), self.transport
        )


def key_parameters(text: str) -> dict[str, str]:
    """``API_KEY_PARAMETERS``: a JSON object, provider -> SSM parameter name."""
    import json

    try:
        found = json.loads(text or "{}")
    except ValueError:
        found = None
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.startswith("/") for k, v in found.items()
    ):
        raise InvalidParameter(
            "API_KEY_PARAMETERS must be a JSON object of provider to SSM parameter name "
            '({"stripe": "/webhook-processor/<env>/api-keys/stripe"})'
        )
    unknown = sorted(set(found) - set(EVENT_APIS))
    if unknown:
        raise InvalidParameter(
            f"API_KEY_PARAMETERS names {', '.join(unknown)}: only {', '.join(EVENT_APIS)} "
            "have an events API"
        )
    return found
