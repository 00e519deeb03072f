"""Property tests: whatever a sender puts in headers and body, for every registered provider.

Each example goes to both HTTP edges, the local server's ASGI app and the Lambda Function URL
handler, each on a fresh memory store, and must hold:

* never a 5xx, never an unhandled exception;
* nothing stored unless the request carried a valid signature;
* every stored event reads back and encodes, at a size bounded by the body's;
* the response, and the memory spent on the request, bounded by the body's size.

Bodies are signed with each provider's oracle (``tests/oracles/<provider>.py``), the provider's
own library where one exists; providers come from the registry, so a new one is covered here
as soon as it and its oracle exist.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import functools
import json
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.oracles import oracle
from tests.reliability import strategies
from tests.support.stores import recent_events
from webhook_processor.aws.bootstrap import Receiver
from webhook_processor.aws.handlers import receiver
from webhook_processor.local.counters import Counters
from webhook_processor.local.server import create_app
from webhook_processor.local.volume import DeliveryCounter, Watch
from webhook_processor.pipeline import Pipeline
from webhook_processor.providers import default_providers
from webhook_processor.providers.generic import GenericProvider
from webhook_processor.publishing.envelope import encode
from webhook_processor.storage.memory import MemoryStore

PROVIDERS = sorted(default_providers())
NOW = strategies.NOW
TEMPLATE = json.loads((Path(__file__).parents[1] / "events" / "function_url_v2.json").read_text())


class _Secrets:
    def active(self, provider: str) -> tuple[str, ...]:
        return (oracle(provider).SECRET,)


class _Context:
    function_name = "webhook-receiver-test"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:webhook-receiver-test"
    aws_request_id = "c1f2e3d4-a5b6-47c8-9d0e-1f2a3b4c5d6e"


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


def _pipeline() -> tuple[Pipeline, MemoryStore]:
    store = MemoryStore()
    return Pipeline(default_providers(), _Secrets(), store, clock=lambda: NOW), store


class _Processor:
    """What ``create_app`` needs of a LocalProcessor, around one pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.counters = Counters()
        self.watch = Watch(DeliveryCounter(MemoryStore()), dict)


async def _asgi(
    pipeline: Pipeline, provider: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    app = create_app(_Processor(pipeline), run_dispatcher=False)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/webhooks/{provider}",
        "query_string": b"",
        "scheme": "http",
        "server": ("127.0.0.1", 8080),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    }
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def _lambda(
    pipeline: Pipeline, provider: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    handler = receiver.create_handler(lambda: Receiver(pipeline, GenericProvider()))
    event = copy.deepcopy(TEMPLATE)
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/webhooks/{provider}"
    event["headers"].update({name.lower(): value for name, value in headers.items()})
    event["body"] = base64.b64encode(body).decode("ascii")
    event["isBase64Encoded"] = True
    response = handler(event, _Context())  # type: ignore[arg-type]
    return response["statusCode"], response["body"].encode("utf-8")


def _sign(
    provider: str, body: bytes, at: Any, message_id: str
) -> tuple[bytes, dict[str, str], bool]:
    """``body`` signed by the provider's oracle, or by the adapter where the oracle cannot sign
    it (the reference libraries sign text only), or unsigned where neither can (a provider
    that signs inside the body must parse it); the flag says whether it was signed."""
    signer = oracle(provider)
    with contextlib.suppress(Exception):  # a refusal to sign means: try the next signer
        return (*signer.sign(body, at=at, secret=signer.SECRET, message_id=message_id), True)
    try:
        signed = default_providers()[provider].sign(body, signer.SECRET, at, message_id)
    except Exception:  # neither can sign it: it goes unsigned
        return body, {"Content-Type": "application/json"}, False
    return signed.body, {**signed.headers, "Content-Type": "application/json"}, True


@functools.cache
def _time_bound(provider: str) -> bool:
    """Whether the provider's signature covers a time (and so has a replay window): signed at
    two times, the same body gets different signatures."""
    sample = strategies.sample_body(default_providers()[provider], "evt_1")
    body = json.dumps(sample, default=str).encode()
    return _sign(provider, body, NOW, "msg_1") != _sign(
        provider, body, NOW + timedelta(hours=1), "msg_1"
    )


@functools.cache
def _signs_raw_body(provider: str) -> bool:
    """Whether the signature covers the raw body (a byte added after signing breaks it), as
    opposed to chosen fields inside it (Adyen)."""
    body = json.dumps(strategies.sample_body(default_providers()[provider], "evt_1"), default=str)
    return (
        _sign(provider, body.encode(), NOW, "msg_1")[1]
        != (_sign(provider, body.encode() + b" ", NOW, "msg_1")[1])
    )


@st.composite
def deliveries(draw: st.DrawFn, provider: str) -> tuple[bytes, dict[str, str], bool]:
    """(body, headers, whether the signature is valid) for one delivery to ``provider``."""
    adapter = default_providers()[provider]
    body = draw(strategies.provider_bodies(adapter))
    message_id = draw(st.sampled_from(["msg_1", "evt_1", "m" * 300, "msg\u00e9", "a b"]))
    skew = draw(st.sampled_from([0, 0, 0, 299, -299, 301, -301, 10**6]))
    body, headers, signed = _sign(provider, body, NOW - timedelta(seconds=skew), message_id)
    valid = signed and (abs(skew) <= 300 or not _time_bound(provider))
    mutation = draw(st.sampled_from(["none", "none", "tamper", "drop", "junk", "extra"]))
    if mutation == "tamper":
        body, valid = body + b" ", valid and not _signs_raw_body(provider)
    elif mutation == "drop":
        dropped = draw(st.sampled_from(sorted(headers)))
        del headers[dropped]
        valid = valid and dropped.lower() == "content-type"  # the only optional header
    elif mutation == "junk":
        name = draw(st.sampled_from(sorted(headers)))
        headers[name] = draw(st.sampled_from(["", "t=1,v1=", "v1,===", "\u00ff" * 50, "x" * 5000]))
        valid = valid and name.lower() == "content-type"
    elif mutation == "extra":
        headers.update({f"x-extra-{n}": "\u00e9" * n for n in range(draw(st.integers(1, 40)))})
    return body, headers, valid


def _check(body: bytes, status: int, response: bytes, store: MemoryStore, valid: bool) -> None:
    assert status < 500, response[:300]
    assert len(response) <= 2 * len(body) + 1024
    stored = recent_events(store, 1000)
    if stored:
        assert valid, f"stored {len(stored)} events from a request without a valid signature"
        assert status == 200
    for record in stored:
        event = record.event
        assert store.get_event(event.provider, event.event_id) == event
        line = encode(event)
        json.loads(line)
        assert len(line) <= 4 * len(body) + 4096


def _run(
    provider: str, loop: asyncio.AbstractEventLoop, delivery: tuple[bytes, dict[str, str], bool]
) -> None:
    body, headers, valid = delivery
    pipeline, store = _pipeline()
    # Traced only around the request: tracing the generator too would triple the suite's time.
    tracemalloc.start()
    try:
        status, response = loop.run_until_complete(_asgi(pipeline, provider, headers, body))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 64 * len(body) + 4 * 1024 * 1024, f"{peak} bytes for a {len(body)}-byte body"
    _check(body, status, response, store, valid)
    pipeline, store = _pipeline()
    status, response = _lambda(pipeline, provider, headers, body)
    _check(body, status, response, store, valid)


# Many examples through code other tests cover: run untraced (the coverage floor holds without).
@pytest.mark.untraced
@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_delivery_gets_a_5xx_or_stores_what_it_should_not(
    provider: str, loop: asyncio.AbstractEventLoop
) -> None:
    @settings(settings.get_profile("reliability"))
    @given(deliveries(provider))
    def check(delivery: tuple[bytes, dict[str, str], bool]) -> None:
        _run(provider, loop, delivery)

    check()
