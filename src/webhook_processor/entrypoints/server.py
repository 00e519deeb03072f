"""The local HTTP server: Starlette on uvicorn, the same pipeline as on Lambda.

Routes: ``POST /webhooks/{provider}`` and ``GET /healthz``. The webhook route only maps HTTP to a
:class:`~webhook_processor.model.WebhookRequest` and the pipeline's outcome or error back to
HTTP, exactly as the Lambda handler does. :meth:`Pipeline.receive_async` verifies inline on the
event loop and awaits the store's group commit, so no request holds a thread; measured with
``make bench``, this took about 1.5 times the requests per second of running the whole
pipeline in the thread pool, which spent its time handing requests between threads.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from webhook_processor.bootstrap import LocalProcessor
from webhook_processor.entrypoints.responses import (
    error_response,
    internal_error_response,
    outcome_response,
)
from webhook_processor.errors import PayloadTooLarge, ServiceUnavailable, WebhookError
from webhook_processor.model import WebhookRequest

log = logging.getLogger(__name__)

_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def create_app(processor: LocalProcessor, *, run_dispatcher: bool = True) -> Starlette:
    """The ASGI app. With ``run_dispatcher`` its lifespan starts and stops the outbox thread."""
    pipeline = processor.pipeline

    async def webhook(request: Request) -> Response:
        try:
            webhook_request = WebhookRequest.build(
                request.path_params["provider"],
                request.headers.items(),
                await _read_body(request, pipeline.max_body_bytes),
                pipeline.clock(),
                method=request.method,
                url=str(request.url),
            )
            outcome = await pipeline.receive_async(webhook_request)
        except ServiceUnavailable as error:
            log.error("cannot take webhook now (%s): %s", error.code, error.detail)
            status, headers, content = error_response(error)
        except WebhookError as error:
            log.info("rejected %s: %s", error.code, error.detail)
            status, headers, content = error_response(error)
        except Exception:
            log.exception("unexpected error")
            status, headers, content = internal_error_response()
        else:
            status, headers, content = outcome_response(outcome)
        return Response(content, status, headers)

    async def healthz(request: Request) -> Response:
        if run_dispatcher and not processor.dispatcher.running:
            # Accepting webhooks that nothing publishes is the failure an operator must see.
            detail = "the outbox dispatcher is not running: stored events are not published"
            return JSONResponse({"status": "unavailable", "detail": detail}, 503)
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_dispatcher:
            processor.start()
        try:
            yield
        finally:
            processor.close()

    return Starlette(
        routes=[
            # Every method reaches the pipeline, so a 405 has the same JSON shape as other errors.
            Route("/webhooks/{provider}", webhook, methods=_ALL_METHODS),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _read_body(request: Request, limit: int) -> bytes:
    """Read at most ``limit`` bytes, refusing early on a larger Content-Length."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
