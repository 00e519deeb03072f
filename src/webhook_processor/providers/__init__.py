"""Provider adapters, by the name that appears in ``/webhooks/{name}``.

This registry is the only place that names the built-in providers: the CLI, the Lambda
receiver, the Pulumi program's secrets and the shared provider tests all derive from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from webhook_processor.providers.adyen import AdyenProvider
from webhook_processor.providers.base import Provider
from webhook_processor.providers.generic import GenericProvider
from webhook_processor.providers.square import LOCAL_NOTIFICATION_URL, SquareProvider
from webhook_processor.providers.stripe import StripeProvider

#: The adapter that reads the original system's payloads on IAM-authenticated direct
#: invocations of the Lambda receiver.
DIRECT_INVOCATION_PROVIDER: Final = "generic"


def default_providers(
    tolerance: int | None = None,
    *,
    square_notification_url: str | None = LOCAL_NOTIFICATION_URL,
) -> Mapping[str, Provider]:
    """Every built-in adapter, keyed by name, with the deployment's settings.

    ``square_notification_url`` is the URL registered with Square (it signs it); None means the
    deployment has not configured one, and Square's deliveries are answered 503 until it does.
    """
    kwargs = {} if tolerance is None else {"tolerance": tolerance}
    adapters: list[Provider] = [
        AdyenProvider(),
        GenericProvider(**kwargs),
        SquareProvider(square_notification_url),
        StripeProvider(**kwargs),
    ]
    return MappingProxyType({adapter.name: adapter for adapter in adapters})


def direct_invocation_adapter(providers: Mapping[str, Provider]) -> GenericProvider:
    """The adapter of :data:`DIRECT_INVOCATION_PROVIDER` among ``providers``."""
    adapter = providers[DIRECT_INVOCATION_PROVIDER]
    if not isinstance(adapter, GenericProvider):
        raise TypeError(f"{DIRECT_INVOCATION_PROVIDER} must be the generic adapter")
    return adapter


__all__ = [
    "DIRECT_INVOCATION_PROVIDER",
    "AdyenProvider",
    "GenericProvider",
    "Provider",
    "SquareProvider",
    "StripeProvider",
    "default_providers",
    "direct_invocation_adapter",
]
