"""Around the Lambda handlers: structured logs and EMF metrics (Powertools), and traces.

Logger and Metrics are cheap to create (about 20 ms of imports together). Traces are
``webhook_processor.aws.tracing``'s spans, not the X-Ray SDK's subsegments: the SDK (behind
Powertools' Tracer) cost about 80 ms of every cold start and loses AWS's support on 2027-02-25.
Lambda's Active tracing records the invocation's segment either way; the spans under it (the
invocation with the webhook's outcome, each AWS call) are sent when tracing is on, which is
unless ``POWERTOOLS_TRACE_DISABLED`` is true. Each log line carries the trace id
(``xray_trace_id``): Powertools' Logger reads it from the same header the spans hang from.

A function's parts (its clients, its pipeline) are built on its first invocation by
:func:`built_once`, with the cyclic garbage collector paused.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_processor.aws import tracing
from webhook_processor.aws.bootstrap import functions_session
from webhook_processor.aws.metrics import NAMESPACE

if TYPE_CHECKING:
    import boto3

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
T = TypeVar("T")

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


def make_tracer(environ: Mapping[str, str]) -> tracing.Tracer | None:
    """The functions' tracer, from their environment; None when tracing is off."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in {"1", "true", "yes", "on"}:
        return None
    function = environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    resource = {
        "service.name": environ.get("POWERTOOLS_SERVICE_NAME") or function,
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
        "cloud.region": environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
        "faas.name": function,
    }
    try:
        send = tracing.UdpSender(environ)
    except ValueError as error:  # no trace is worth a function that cannot start
        logger.warning("tracing off", extra={"reason": str(error)})
        return None
    return tracing.Tracer({k: v for k, v in resource.items() if v}, send, environ=environ)


tracer = make_tracer(os.environ)


def traced_session() -> boto3.Session:
    """The functions' boto3 session: each client made from it records its calls as spans."""
    return functions_session(None if tracer is None else tracer.instrument)


def built_once(build: Callable[[], T]) -> Callable[[], T]:
    """``build`` run on first use and kept: a container builds its function's parts once.

    The cyclic garbage collector is paused while it runs. Making the clients allocates tens of
    thousands of objects that live as long as the container, and a full collection among them
    was about 25 ms of each cold start (the baseline ``import boto3`` + one client never has
    one). The first build of the process then freezes what exists (``gc.freeze``: never scanned
    again), so the collection is not merely moved into the first invocation. A build that fails
    is not kept, and the collector is resumed all the same.
    """

    @functools.cache
    def built() -> T:
        if not gc.isenabled():  # paused by the caller: not ours to resume
            return build()
        gc.disable()
        try:
            return build()
        finally:
            if not _frozen:
                _frozen.append(True)
                gc.freeze()
            gc.enable()

    return built


#: Whether a build froze the heap (once a process: a container has one build; a test run many).
_frozen: list[bool] = []


def annotate(**attributes: tracing.Attribute) -> None:
    """Attributes of this invocation's span: the outcome of what the function was asked."""
    if tracer is not None:
        tracer.annotate(**attributes)


def fail(reason: str) -> None:
    """Mark this invocation's span failed though it answers (a 503 the sender retries)."""
    if tracer is not None:
        tracer.fail(reason)


def instrument(handler: Handler) -> Handler:
    """Wrap a handler: fresh log context per invocation, metrics flushed, its span sent."""
    cold = [True]

    def invoke(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if tracer is None:
            return handler(event, context)
        first, cold[0] = cold[0], False
        attributes: dict[str, tracing.Attribute] = {
            "faas.invocation_id": context.aws_request_id,
            "faas.coldstart": first,
        }
        with tracer.invocation(context.function_name, **attributes):
            return handler(event, context)

    with_metrics = metrics.log_metrics(invoke, raise_on_empty_metrics=False)
    wrapped: Handler = logger.inject_lambda_context(with_metrics, log_event=False, clear_state=True)
    return wrapped
