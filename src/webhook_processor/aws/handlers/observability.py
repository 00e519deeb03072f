"""Powertools around the Lambda handlers: structured logs, EMF metrics, X-Ray, set up cheaply.

Logger and Metrics are cheap to create (about 20 ms of imports together). The X-Ray SDK is
not: importing it builds two boto X-Ray clients for a sampler that Lambda does not use (Lambda
samples before the function runs), about 150 ms measured here. So the Tracer is created on the
first invocation, and not at all when ``POWERTOOLS_TRACE_DISABLED`` is true; the function-level
trace comes from the function's Active tracing either way. It patches botocore alone: the
functions reach AWS through nothing else, and patching every library the SDK knows (requests,
httplib, sqlite3, ...) cost another 60 ms.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_processor.aws.metrics import NAMESPACE

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


def instrument(handler: Handler) -> Handler:
    """Wrap a handler: fresh log context per invocation, metrics flushed, X-Ray when enabled."""
    traced: list[Handler] = []

    def invoke(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if not traced:
            traced.append(_traced(handler))
        return traced[0](event, context)

    with_metrics = metrics.log_metrics(invoke, raise_on_empty_metrics=False)
    wrapped: Handler = logger.inject_lambda_context(with_metrics, log_event=False, clear_state=True)
    return wrapped


def _traced(handler: Handler) -> Handler:
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in {"1", "true", "yes", "on"}:
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(patch_modules=("botocore",))
    traced: Handler = tracer.capture_lambda_handler(handler, capture_response=False)
    return traced
