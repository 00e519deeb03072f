"""Provider adapters, by the name that appears in ``/webhooks/{name}``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from webhook_processor.providers.base import Provider
from webhook_processor.providers.generic import GenericProvider
from webhook_processor.providers.stripe import StripeProvider


def default_providers(tolerance: int | None = None) -> Mapping[str, Provider]:
    """Every built-in adapter, keyed by name."""
    kwargs = {} if tolerance is None else {"tolerance": tolerance}
    adapters: list[Provider] = [GenericProvider(**kwargs), StripeProvider(**kwargs)]
    return MappingProxyType({adapter.name: adapter for adapter in adapters})


__all__ = ["GenericProvider", "Provider", "StripeProvider", "default_providers"]
