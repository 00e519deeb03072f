"""Ask the provider whether it still sends: is our webhook endpoint there, and enabled?

A provider disables an endpoint that keeps failing (Stripe after days of failed deliveries,
and anyone can in its dashboard), and a subscription can be deleted; either way nothing reaches
us and no alarm on our side can tell it from a quiet day. With an API key, the provider's own
list says it.

Our endpoints are those whose URL path is ``/webhooks/<provider>`` (a trailing slash allowed):
the route this processor serves, whatever host or tunnel is in front of it. Any of ours that is
disabled makes the verdict ``disabled``, even beside an enabled one: a disabled endpoint pointing
at us is either the live one or a stale one to delete, and both need a person.
"""

from __future__ import annotations

import enum
import urllib.parse
from dataclasses import dataclass
from typing import Protocol

from webhook_processor.errors import ProviderApiError
from webhook_processor.reconcile.apis import Endpoint


class EndpointState(enum.StrEnum):
    """What the provider says of our endpoints."""

    #: Every endpoint pointing at us is enabled.
    ENABLED = "enabled"
    #: At least one endpoint pointing at us is disabled: it delivers nothing.
    DISABLED = "disabled"
    #: No endpoint points at ``/webhooks/<provider>``: deleted, or never made.
    MISSING = "missing"
    #: Not asked (no API key, no API) or no answer (the API failed).
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class EndpointCheck:
    """One provider's answer, with what to tell a person."""

    provider: str
    state: EndpointState
    detail: str
    endpoints: tuple[Endpoint, ...] = ()

    @property
    def down(self) -> bool:
        """The provider says it is not sending to us: an alarm, a red line, an exit status."""
        return self.state in (EndpointState.DISABLED, EndpointState.MISSING)


class EndpointLister(Protocol):
    provider: str

    def endpoints(self) -> list[Endpoint]:
        """Every endpoint the provider lists for the key. Raises ProviderApiError."""
        ...


def ours(provider: str, endpoints: list[Endpoint]) -> list[Endpoint]:
    """The endpoints that deliver to this processor's route for ``provider``."""
    route = f"/webhooks/{provider}"
    return [e for e in endpoints if urllib.parse.urlsplit(e.url).path.rstrip("/") == route]


def check_endpoints(api: EndpointLister) -> EndpointCheck:
    """Ask ``api``; an API that fails is ``unknown`` with its reason, never an exception."""
    provider = api.provider
    try:
        listed = api.endpoints()
    except ProviderApiError as error:
        return EndpointCheck(provider, EndpointState.UNKNOWN, f"not known: {error.detail}")
    mine = tuple(ours(provider, listed))
    if not mine:
        return EndpointCheck(
            provider,
            EndpointState.MISSING,
            f"no endpoint of the {len(listed)} listed sends to /webhooks/{provider}",
        )
    disabled = [e for e in mine if not e.enabled]
    if disabled:
        shown = ", ".join(f"{e.id} ({e.url})" for e in disabled[:3])
        return EndpointCheck(provider, EndpointState.DISABLED, f"disabled: {shown}", mine)
    return EndpointCheck(provider, EndpointState.ENABLED, f"{len(mine)} enabled", mine)


def not_asked(provider: str, why: str) -> EndpointCheck:
    """A provider whose endpoints cannot be asked about, and why."""
    return EndpointCheck(provider, EndpointState.UNKNOWN, why)
