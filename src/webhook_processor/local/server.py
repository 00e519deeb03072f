"""The local HTTP server: a bare ASGI app on uvicorn, the same pipeline as on Lambda.

Routes: ``POST /webhooks/{provider}`` (a trailing slash is the same route, answered, never
redirected: a redirect would be built from the ``Host`` header), ``GET /healthz`` (liveness;
``degraded`` while a sink is behind), ``GET /status`` (is each provider still sending and each
sink taking what is published, for monitors: see :mod:`.volume`; as private as
the inspector, so a token opens it beyond loopback), and the
inspector: ``GET /`` and ``/inspector/...`` (:mod:`.inspector`), looked at
only after the webhook route, which they do not slow down. The webhook route only maps HTTP
to a :class:`~webhook_processor.model.WebhookRequest` and the pipeline's outcome or error back
to HTTP, exactly as the Lambda handler does, and counts what it answered for the inspector.
:meth:`Pipeline.receive_async` verifies inline on the event loop and awaits the store's group
commit, so no request holds a thread.

Hand-written rather than a framework's router because it is the hot path and has few routes:
measured here, Starlette's routing and request objects cost about a third of what uvicorn
itself can carry, and this app needs none of them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from webhook_processor import codec
from webhook_processor.errors import NotFound, PayloadTooLarge, ServiceUnavailable, WebhookError
from webhook_processor.local.bootstrap import LocalProcessor
from webhook_processor.local.volume import stale_detail
from webhook_processor.model import WebhookRequest
from webhook_processor.pipeline import Pipeline
from webhook_processor.responses import (
    JSON,
    error_response,
    internal_error_response,
    outcome_response,
)

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_PREFIX: Final = "/webhooks/"


class _Disconnected(Exception):
    """The client went away before its body was read: there is no one to answer."""


def create_app(processor: LocalProcessor, *, run_dispatcher: bool = True) -> App:
    """The ASGI app. With ``run_dispatcher`` its lifespan starts and stops the outbox lanes."""
    from webhook_processor.local.inspector.app import Inspector, handles

    pipeline = processor.pipeline

    @functools.cache
    def inspector() -> Inspector:
        """Built at its first request: a server nobody inspects never reads the page."""
        return Inspector(processor)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await _http(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)

    async def _http(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path.startswith(_PREFIX):
            provider = path[len(_PREFIX) :].removesuffix("/")
            if provider and "/" not in provider:
                await _webhook(pipeline, provider, scope, receive, send, processor=processor)
                return
        elif path in ("/healthz", "/healthz/") and scope["method"] in ("GET", "HEAD"):
            await _respond(send, *await _health(processor, run_dispatcher))
            return
        elif path in ("/status", "/status/") and scope["method"] in ("GET", "HEAD"):
            await _respond(send, *await inspector().status(scope))
            return
        elif handles(path):
            try:
                response = await inspector().answer(
                    scope, lambda limit: _read_body(scope, receive, limit)
                )
            except _Disconnected:
                return
            await _respond(send, *response)
            return
        await _respond(send, *error_response(NotFound(f"no route {path[:100]!r}")))

    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                processor.store.run_on(asyncio.get_running_loop())
                if run_dispatcher:
                    processor.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # Off the loop: the outbox lanes it stops may be waiting for the loop to
                # commit their last writes.
                await asyncio.get_running_loop().run_in_executor(None, processor.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    return app


async def _webhook(
    pipeline: Pipeline,
    provider: str,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    processor: LocalProcessor,
) -> None:
    counters = processor.counters
    counters.received()
    headers = [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
    ]
    try:
        request = WebhookRequest.build(
            provider,
            headers,
            await _read_body(scope, receive, pipeline.max_body_bytes),
            pipeline.clock(),
            method=scope["method"],
            url=_url(scope, headers),
        )
        outcome = await pipeline.receive_async(request)
    except _Disconnected:
        return
    except ServiceUnavailable as error:
        log.error("cannot take webhook now (%s): %s", error.code, error.detail)
        status, response_headers, content = error_response(error)
        counters.rejected(provider, error.code, status)
    except WebhookError as error:
        log.info("rejected %s: %s", error.code, error.detail)
        status, response_headers, content = error_response(error)
        counters.rejected(provider, error.code, status)
    except Exception:
        log.exception("unexpected error")
        status, response_headers, content = internal_error_response()
        counters.rejected(provider, "internal", status)
    else:
        status, response_headers, content = outcome_response(outcome)
        counters.answered(outcome)
        processor.watch.counter.count(provider)
    await _respond(send, status, response_headers, content)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """Read at most ``limit`` bytes, refusing early on a larger Content-Length. How long the
    body may take to arrive is the protocol's bound (see :mod:`.http_limits`)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise PayloadTooLarge(limit)
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _url(scope: Scope, headers: list[tuple[str, str]]) -> str:
    """The URL as the sender addressed it (Square signs it); used for nothing else."""
    host = next((value for name, value in headers if name == "host"), "")
    if not host and scope.get("server"):
        host = "{}:{}".format(*scope["server"])
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{scope['path']}" + (f"?{query}" if query else "")


#: How old a reading of the outbox ``/healthz`` may answer with.
HEALTH_READING_SECONDS: Final = 2.0


async def _health(
    processor: LocalProcessor, run_dispatcher: bool
) -> tuple[int, dict[str, str], bytes]:
    """503 when stored events are not published (the dispatcher is down, the store cannot be
    read); 200 otherwise, ``degraded`` while a sink is behind. A slow subscriber is not a reason
    to turn providers away: the webhooks are still stored, and a load balancer or supervisor
    acting on a 503 would only make that worse."""
    if run_dispatcher and not processor.dispatcher.running:
        # Accepting webhooks that nothing publishes is the failure an operator must see.
        detail = "the outbox dispatcher is not running: stored events are not published"
        return _health_answer(503, "unavailable", detail)
    try:
        lanes = await asyncio.get_running_loop().run_in_executor(
            None, processor.lanes, HEALTH_READING_SECONDS
        )
    except WebhookError as error:
        return _health_answer(503, "unavailable", f"the outbox cannot be read: {error.detail}")
    behind = stale_detail(lanes)
    if behind is not None:
        return _health_answer(200, "degraded", behind)
    return 200, {"content-type": JSON}, b'{"status":"ok"}'


def _health_answer(status: int, state: str, detail: str) -> tuple[int, dict[str, str], bytes]:
    body = {"status": state, "detail": detail}
    return status, {"content-type": JSON}, codec.dumps(body).encode()


async def _respond(send: Send, status: int, headers: dict[str, str], content: bytes) -> None:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    raw.append((b"content-length", str(len(content)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": content})
