"""The one table from outcomes and errors to HTTP responses, shared by every HTTP edge."""

from __future__ import annotations

from typing import Final

from webhook_processor import codec
from webhook_processor.errors import (
    Forbidden,
    InvalidPayload,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestRejected,
    ServiceUnavailable,
    SignatureInvalid,
    UnknownProvider,
    UnsupportedMediaType,
    WebhookError,
)
from webhook_processor.model import Outcome

#: First match wins, so subclasses come before their bases.
STATUS_BY_ERROR: Final[tuple[tuple[type[WebhookError], int], ...]] = (
    (NotFound, 404),
    (Forbidden, 403),
    (UnknownProvider, 404),
    (MethodNotAllowed, 405),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (SignatureInvalid, 401),
    (InvalidPayload, 400),
    (RequestRejected, 400),
    (ServiceUnavailable, 503),
)

JSON: Final = "application/json"


def status_for(error: WebhookError) -> int:
    """The HTTP status of ``error``: 4xx for bad requests, 503 when we cannot take it, else 500."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500


#: What a sender is told when we cannot take its event; the specifics go to our logs only.
UNAVAILABLE_DETAIL: Final = "the processor cannot take this event now; retry later"


def error_response(error: WebhookError) -> tuple[int, dict[str, str], bytes]:
    """The response for ``error``: a 4xx explains the sender's mistake; a 5xx reveals nothing
    of our internals (parameter names, table errors), which the edge logs instead."""
    headers = {"content-type": JSON}
    if isinstance(error, MethodNotAllowed):
        headers["allow"] = error.allow
    detail = error.detail if isinstance(error, RequestRejected) else UNAVAILABLE_DETAIL
    body = codec.dumps({"error": error.code, "detail": detail}).encode()
    return status_for(error), headers, body


def internal_error_response() -> tuple[int, dict[str, str], bytes]:
    body = codec.dumps({"error": "internal", "detail": "unexpected error; see the server log"})
    return 500, {"content-type": JSON}, body.encode()


def outcome_response(outcome: Outcome) -> tuple[int, dict[str, str], bytes]:
    """200, with the body the provider prescribes (Adyen's ``[accepted]``) or our JSON."""
    if outcome.reply is not None:
        return 200, {"content-type": outcome.reply.content_type}, outcome.reply.body
    body = codec.dumps({"status": outcome.disposition, "event_ids": list(outcome.event_ids)})
    return 200, {"content-type": JSON}, body.encode()
