"""The receiver function: a Lambda Function URL (payload format 2.0) in front of the pipeline.

Two shapes of event arrive here:

* Function URL requests (``requestContext.http`` present): the provider's HTTP request. The
  signature is verified on the exact bytes the provider sent (base64 bodies are decoded, never
  re-serialised) and the answer uses the same status table as the local server.
* Direct invocations (asynchronous invokes and replays, authenticated by IAM): the original
  system's shapes, either the generic payload itself or ``{"body": "<json text>"}``. A replay
  that carries ``headers`` is verified like a request; one without headers is trusted as the
  IAM-authenticated caller's own event. Errors are raised, so the function's async retries and
  its dead-letter queue apply.

Clients are built on the first invocation and reused by the container.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_processor import codec
from webhook_processor.aws import metrics as names
from webhook_processor.aws.bootstrap import AwsConfig, Receiver, build_receiver
from webhook_processor.aws.handlers.observability import (
    Handler,
    annotate,
    built_once,
    fail,
    instrument,
    logger,
    metrics,
    traced_session,
)
from webhook_processor.errors import InvalidPayload, NotFound, ServiceUnavailable, WebhookError
from webhook_processor.model import Disposition, Outcome, WebhookRequest
from webhook_processor.responses import error_response, outcome_response

if TYPE_CHECKING:
    from webhook_processor.pipeline import Pipeline

_ROUTE: Final = re.compile(r"/webhooks/([A-Za-z0-9_-]{1,64})/?")


def create_handler(build: Callable[[], Receiver]) -> Handler:
    """The handler over the receiver ``build`` makes on the first invocation; the container
    reuses it. The deployed function is ``handler`` below; tests pass their own ``build``."""
    receiver = built_once(build)

    @instrument
    def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
        metrics.add_metric(name=names.RECEIVED, unit=MetricUnit.Count, value=1)
        context_ = event.get("requestContext") if isinstance(event, dict) else None
        if isinstance(context_, dict) and "http" in context_:
            return _function_url(receiver().pipeline, event)
        return _direct(receiver(), event)

    return handler


def _function_url(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """A Function URL request (payload format 2.0): every field it reads is checked for its
    type first, so a malformed event is a 400 like any other bad request, never a traceback."""
    try:
        codec.check_strings(event)  # a lone surrogate anywhere: not Unicode text
        http = event["requestContext"]["http"]
        if not isinstance(http, dict):
            raise InvalidPayload(
                f"requestContext.http must be an object, got {codec.json_kind(http)}"
            )
        route = _ROUTE.fullmatch(_field(event, "rawPath", str) or "/")
        if route is None:
            raise NotFound("POST to /webhooks/{provider}")
        request = WebhookRequest.build(
            route.group(1),
            _headers(event),
            _body(event),
            pipeline.clock(),
            method=_field(http, "method", str, "requestContext.http.") or "POST",
            url=_url(event),
        )
        outcome = pipeline.receive(request)
    except WebhookError as error:
        _count_rejection(error)
        status, headers, content = error_response(error)
    else:
        _count_outcome(outcome, request.provider)
        status, headers, content = outcome_response(outcome)
    annotate(**{"http.response.status_code": status})
    return {"statusCode": status, "headers": headers, "body": content.decode("utf-8")}


def _direct(receiver: Receiver, event: Any) -> dict[str, Any]:
    pipeline = receiver.pipeline
    try:
        if not isinstance(event, dict):
            raise InvalidPayload(
                f"a direct invocation must be a JSON object, got {codec.json_kind(event)}"
            )
        codec.check_strings(event)  # a lone surrogate anywhere: not Unicode text
        if "body" in event and isinstance(event["body"], str):
            if event.get("headers"):
                provider = _field(event, "provider", str) or receiver.direct.name
                request = WebhookRequest.build(
                    provider, _headers(event), _body(event), pipeline.clock()
                )
                outcome = pipeline.receive(request)
            else:
                outcome = _trusted(receiver, codec.loads_object(_body(event)))
        else:
            try:
                outcome = _trusted(receiver, _exact(event))
            except RecursionError:  # the runtime's parser takes what ours would not
                raise InvalidPayload("a direct invocation is nested too deeply") from None
    except WebhookError as error:
        _count_rejection(error)
        raise  # a failed async invocation is retried, then lands in the dead-letter queue
    _count_outcome(outcome, None)
    return {"status": outcome.disposition, "event_ids": list(outcome.event_ids)}


def _trusted(receiver: Receiver, payload: dict[str, Any]) -> Outcome:
    """An IAM-authenticated generic payload: validated and stored like any other."""
    event_id = payload.get("event_id")
    if event_id is None:
        # No id: the content is the identity, so a replay of the same payload is a duplicate.
        digest = hashlib.sha256(codec.dumps(_sorted(payload)).encode()).hexdigest()
        event_id = f"direct-{digest[:32]}"
    elif not isinstance(event_id, str) or not event_id:
        raise InvalidPayload("body.event_id must be a non-empty string")
    pipeline = receiver.pipeline
    event = receiver.direct.normalise(payload, event_id, pipeline.clock())
    return pipeline.accept_trusted(receiver.direct.name, [event])


def _field(obj: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    """``obj[key]`` if it is a ``kind`` or absent (None); InvalidPayload naming it otherwise."""
    value = obj.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise InvalidPayload(f"{where}{key} must be {_KINDS[kind]}, got {codec.json_kind(value)}")


def _headers(event: dict[str, Any]) -> dict[str, str]:
    headers = _field(event, "headers", dict) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise InvalidPayload("headers must map header names to strings")
    return headers


def _body(event: dict[str, Any]) -> bytes:
    body = _field(event, "body", str) or ""
    if _field(event, "isBase64Encoded", bool):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise InvalidPayload("isBase64Encoded is true but the body is not base64") from exc
    return body.encode("utf-8")  # no lone surrogate: the event's strings were checked


def _url(event: dict[str, Any]) -> str:
    domain = _field(event["requestContext"], "domainName", str, "requestContext.") or ""
    query = _field(event, "rawQueryString", str) or ""
    path = _field(event, "rawPath", str) or ""
    return f"https://{domain}{path}" + (f"?{query}" if query else "")


_KINDS: Final = {dict: "an object", str: "a string", bool: "true or false"}


def _exact(value: Any) -> Any:
    """Lambda parses direct payloads with floats; the shortest repr is the sender's text. The
    runtime's parser also takes NaN and Infinity, which are no amount."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidPayload(f"a direct invocation holds {value!r}: not a finite number")
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_exact(item) for item in value]
    return value


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _count_outcome(outcome: Outcome, provider: str | None) -> None:
    """Counted by ``provider`` too for a provider's own delivery (a direct invocation is an
    operator's replay or the original system's sender, not the provider sending)."""
    logger.set_correlation_id(",".join(outcome.event_ids) or None)
    annotate(
        **{
            "webhook.disposition": outcome.disposition.value,
            "webhook.events": len(outcome.event_ids),
            "webhook.provider": provider or "direct",
        }
    )
    if provider is not None:
        with single_metric(
            name=names.DELIVERIES, unit=MetricUnit.Count, value=1, namespace=names.NAMESPACE
        ) as metric:
            metric.add_dimension(name=names.PROVIDER, value=provider)
    logger.info("webhook %s", outcome.disposition, extra={"event_ids": list(outcome.event_ids)})
    if outcome.disposition is Disposition.DUPLICATE:
        metrics.add_metric(name=names.DUPLICATES, unit=MetricUnit.Count, value=1)
    elif outcome.disposition is Disposition.ACCEPTED:
        metrics.add_metric(name=names.STORED, unit=MetricUnit.Count, value=len(outcome.event_ids))


def _count_rejection(error: WebhookError) -> None:
    annotate(**{"webhook.rejected": error.code})
    if isinstance(error, ServiceUnavailable):
        fail(error.code)
        # The provider will retry; an operator must look (missing secret, throttled table). The
        # answer is a 503, not a failed invocation: Lambda's Errors metric stays at 0, so this
        # count is what the receiver's "unavailable" alarm watches.
        logger.error(
            "cannot take webhook now", extra={"reason": error.code, "detail": error.detail}
        )
        metrics.add_metric(name=names.UNAVAILABLE, unit=MetricUnit.Count, value=1)
    else:
        logger.warning("rejected webhook", extra={"reason": error.code, "detail": error.detail})
    with single_metric(
        name=names.REJECTED, unit=MetricUnit.Count, value=1, namespace=names.NAMESPACE
    ) as metric:
        metric.add_dimension(name=names.REASON, value=error.code)


handler = create_handler(
    lambda: build_receiver(AwsConfig.from_environ(os.environ), traced_session())
)
