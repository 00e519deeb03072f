"""The exception tree of the processor.

Every failure the processor raises on purpose derives from :class:`WebhookError`::

    WebhookError
    ├── RequestRejected           the request is wrong; resending it unchanged cannot help (4xx)
    │   ├── NotFound              no such route
    │   ├── UnknownProvider       no adapter of that name
    │   ├── MethodNotAllowed      webhooks arrive by POST
    │   ├── PayloadTooLarge       body over the configured limit, or too large to publish
    │   ├── UnsupportedMediaType  Content-Type says the body is not JSON
    │   ├── Forbidden             the inspector is not served to this request (403)
    │   ├── InvalidParameter      an inspector query parameter or form field is wrong
    │   ├── SignatureInvalid      missing, malformed, wrong, stale or future signature
    │   │   └── SignatureMismatch well-formed, but no MAC matches this secret (another may)
    │   └── InvalidPayload        verified, but not an event we can normalise
    │       └── InvalidAmount     money not exact, finite, bounded, in a known currency
    └── ServiceUnavailable        cannot take the request now; the sender retries (5xx)
        ├── StorageUnavailable    the store did not confirm a durable write
        ├── SecretUnavailable     the provider's signing secret cannot be read
        ├── ProviderNotConfigured the provider needs a setting the deployment lacks
        └── ProviderApiError      a provider's events API failed or could not be reached

Expected outcomes (an accepted or a duplicate delivery, a sink that did not take an event) are
return values, not exceptions. Each adapter maps its SDK's errors to these in one place (a
``storage_errors`` context manager per store). The mapping from these classes to HTTP statuses
lives in one table at the edge (:mod:`webhook_processor.responses`).
"""

from __future__ import annotations

from typing import Final

#: Longest detail an error carries. Details quote what the sender sent (an amount, an id), and a
#: response or log line must not grow with the body: a 99-byte body once produced a 1 GB answer.
MAX_DETAIL_CHARS: Final = 300


def truncate(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` in at most ``limit`` characters: a long middle (where a detail quotes the
    sender's value) becomes an ellipsis, so the start and the explanation at the end remain."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "\u2026" + text[len(text) - (limit - 1 - head) :]


class WebhookError(Exception):
    """Base class of every error the processor raises on purpose; its detail is bounded."""

    code = "error"

    def __init__(self, detail: str) -> None:
        detail = truncate(detail)
        super().__init__(detail)
        self.detail = detail


class RequestRejected(WebhookError):
    """The request itself is wrong; the sender must not retry it unchanged."""

    code = "bad_request"


class NotFound(RequestRejected):
    """No route at that path."""

    code = "not_found"


class UnknownProvider(RequestRejected):
    """``/webhooks/{provider}`` names no registered adapter."""

    code = "unknown_provider"

    def __init__(self, provider: str, known: tuple[str, ...]) -> None:
        super().__init__(f"no provider named {provider!r}; known: {', '.join(known)}")
        self.provider = provider


class MethodNotAllowed(RequestRejected):
    """Webhooks arrive by POST; anything else is refused before the body is read."""

    code = "method_not_allowed"

    def __init__(self, method: str, allow: str = "POST", detail: str | None = None) -> None:
        super().__init__(detail or f"webhooks are delivered with POST, not {method}")
        self.method = method
        #: The ``Allow`` header of the answer: the methods the route takes.
        self.allow = allow


class PayloadTooLarge(RequestRejected):
    """The body is over the configured limit; refused before it is read whole."""

    code = "payload_too_large"

    def __init__(self, limit: int, detail: str | None = None) -> None:
        super().__init__(detail or f"body is larger than the limit of {limit} bytes")
        self.limit = limit


class UnsupportedMediaType(RequestRejected):
    """The ``Content-Type`` declares something other than JSON."""

    code = "unsupported_media_type"


class Forbidden(RequestRejected):
    """The inspector is not served to this request: bound beyond loopback without an access
    token, a wrong token, a Host that is not this loopback server, or a cross-site write."""

    code = "forbidden"


class InvalidParameter(RequestRejected):
    """An inspector query parameter or form field is unknown, repeated or malformed."""

    code = "invalid_parameter"


class SignatureInvalid(RequestRejected):
    """Missing, malformed, wrong, stale or future signature: not from the provider."""

    code = "invalid_signature"


class SignatureMismatch(SignatureInvalid):
    """The signature is well formed but no MAC matches under the secret tried.

    The one signature failure another active secret can cure: while a secret is rotated, the
    pipeline tries the next active secret on this error and on no other.
    """


class InvalidPayload(RequestRejected):
    """Authentic, but not an event the processor can normalise and store."""

    code = "invalid_payload"


class InvalidAmount(InvalidPayload):
    """Money that is not exact, finite, bounded and in a known currency."""

    code = "invalid_amount"


class ServiceUnavailable(WebhookError):
    """The processor cannot take the request now; the sender should retry later."""

    code = "unavailable"


class StorageUnavailable(ServiceUnavailable):
    """The store did not confirm a durable write (or a read failed)."""

    code = "storage_unavailable"


class SecretUnavailable(ServiceUnavailable):
    """The provider's signing secret cannot be read or is malformed."""

    code = "secret_unavailable"


class ProviderNotConfigured(ServiceUnavailable):
    """The provider's adapter needs a setting this deployment does not have (Square's
    notification URL); deliveries are answered 503, so the provider retries until it is set."""

    code = "provider_not_configured"


class ProviderApiError(ServiceUnavailable):
    """A provider's API (its events, its webhook endpoints) answered an error, an answer that
    cannot be read, or nothing: a reconciliation stops there and keeps what it stored; the next
    run lists it again."""

    code = "provider_api_error"

    def __init__(
        self, provider: str, detail: str, *, status: int | None = None, api: str = "events API"
    ) -> None:
        super().__init__(f"the {provider} {api} {detail}")
        self.provider = provider
        #: The HTTP status it answered, if it answered.
        self.status = status
