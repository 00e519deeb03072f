"""Traces without the X-Ray SDK: OpenTelemetry spans sent to Lambda's X-Ray endpoint on UDP.

With Active tracing, Lambda records each invocation's segment itself and hands the function a
trace header (``_X_AMZN_TRACE_ID``: the root trace id, the function segment's id as parent,
the sampling decision) and a UDP endpoint (``AWS_XRAY_DAEMON_ADDRESS``). What the function adds
under that segment is a span for its invocation, carrying the webhook's outcome, and a span for
each AWS call it makes.

The spans are OpenTelemetry's: OTLP ``ExportTraceServiceRequest`` protobuf, base64, behind the
header and prefix (``T1S``, a sampled trace) that AWS's own exporter for Lambda sends to the
same endpoint (aws-otel-python-instrumentation, ``OTLPUdpSpanExporter``). X-Ray takes OTLP as
its native format. The AWS-call spans carry what OpenTelemetry's botocore instrumentation
records (``<Service>.<Operation>``, kind client, ``rpc.*``, ``cloud.region``,
``aws.request_id``, ``http.status_code``), so X-Ray draws the same service map.

Written by hand, not with the OpenTelemetry SDK: importing the SDK and its protobuf encoder
after boto3 costs about 90 ms and 170 ms more of a cold start (``docs/benchmarks.md``), more
than the X-Ray SDK's 80 ms that this replaces, for five message types. Tests check the bytes
against OpenTelemetry's own protobuf classes and the spans against its botocore
instrumentation on the same calls.

Tracing never fails a webhook: a span that cannot be sent is dropped.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import random
import socket
import struct
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

TRACE_HEADER: Final = "_X_AMZN_TRACE_ID"
ENDPOINT: Final = "AWS_XRAY_DAEMON_ADDRESS"
#: What AWS's OTLP UDP exporter writes before a sampled trace's base64 protobuf.
PREFIX: Final = b'{"format":"json","version":1}\nT1S'
#: One datagram stays well under UDP's 65,507 bytes; more spans go in more datagrams.
MAX_DATAGRAM: Final = 60_000
SCOPE: Final = "webhook_processor.aws.tracing"

log = logging.getLogger(__name__)

SERVER: Final = 2
CLIENT: Final = 3
_ERROR: Final = 2

Attribute = str | bool | int | float


@dataclass(frozen=True)
class TraceContext:
    """Where this invocation's spans hang: Lambda's trace and its function segment."""

    trace_id: bytes
    parent_id: bytes

    @classmethod
    def from_header(cls, header: str | None) -> TraceContext | None:
        """The context of a sampled header; None when there is none or it is not sampled
        (``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1``)."""
        if not header:
            return None
        fields = _fields(header)
        root = fields.get("Root", "").split("-")
        if fields.get("Sampled") != "1" or len(root) != 3 or root[0] != "1":
            return None
        try:
            trace_id = bytes.fromhex(root[1] + root[2])
            parent_id = bytes.fromhex(fields.get("Parent", ""))
        except ValueError:
            return None
        if len(trace_id) != 16 or len(parent_id) != 8:
            return None
        return cls(trace_id, parent_id)

    def header(self, span_id: bytes, received: str | None = None) -> str:
        """The header an AWS call carries, so a traced service continues under its span: the
        ``received`` header's fields (``Lineage`` among them) with this span as ``Parent``."""
        hexed = self.trace_id.hex()
        fields = {"Root": f"1-{hexed[:8]}-{hexed[8:]}", "Parent": span_id.hex(), "Sampled": "1"}
        fields |= {k: v for k, v in _fields(received or "").items() if k not in fields}
        return ";".join(f"{name}={value}" for name, value in fields.items())


def _fields(header: str) -> dict[str, str]:
    """A trace header's ``name=value`` fields, in their order."""
    return {name: value for name, _, value in (p.partition("=") for p in header.split(";")) if name}


@dataclass
class Span:
    name: str
    kind: int
    span_id: bytes
    parent_id: bytes
    start_ns: int
    end_ns: int = 0
    attributes: dict[str, Attribute] = field(default_factory=dict)
    #: Set for a failure: the error's type or code, never its message (it can hold payload).
    error: str | None = None


class Tracer:
    """One invocation's spans at a time, sent together when it ends.

    :meth:`instrument` hooks a boto3 session, so every client made from it records its calls;
    :meth:`invocation` opens the function's span and sends everything when it closes;
    :meth:`annotate` adds the outcome to it. Outside a sampled invocation all three cost a
    dictionary lookup.
    """

    def __init__(
        self,
        resource: Mapping[str, Attribute],
        send: Callable[[bytes], None],
        *,
        environ: Mapping[str, str] = os.environ,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._resource = dict(resource)
        self._send = send
        self._environ = environ
        self._clock = clock
        self._context: TraceContext | None = None
        self._spans: list[Span] = []

    @contextlib.contextmanager
    def invocation(self, name: str, **attributes: Attribute) -> Iterator[None]:
        context = TraceContext.from_header(self._environ.get(TRACE_HEADER))
        if context is None:
            yield
            return
        span = Span(name, SERVER, _span_id(), context.parent_id, self._clock(), 0, attributes)
        self._context, self._spans = context, [span]
        try:
            yield
        except BaseException as error:
            span.error = type(error).__name__
            raise
        finally:
            span.end_ns = self._clock()
            spans, self._context, self._spans = self._spans, None, []
            for call in spans:
                if not call.end_ns:  # refused before it was sent (a parameter AWS would refuse)
                    call.end_ns, call.error = span.end_ns, call.error or "NotSent"
            self._send_all(context.trace_id, spans)

    def _send_all(self, trace_id: bytes, spans: list[Span]) -> None:
        try:
            for datagram in encode(trace_id, self._resource, spans):
                with contextlib.suppress(OSError):  # no endpoint, a full buffer: dropped
                    self._send(datagram)
        except Exception:  # a span this module cannot write is its own defect, never the call's
            log.warning("spans dropped: they could not be encoded", exc_info=True)

    def annotate(self, **attributes: Attribute) -> None:
        """Attributes of the invocation's span (the webhook's outcome)."""
        if self._spans:
            self._spans[0].attributes.update(attributes)

    def fail(self, reason: str) -> None:
        """Mark the invocation's span failed though it answered (a 503: the sender retries)."""
        if self._spans:
            self._spans[0].error = reason

    def instrument(self, events: Any) -> None:
        """Record every AWS call of the clients made from a session with these ``events``
        (``boto3.Session().events``: a client copies its session's handlers when made)."""
        events.register("before-parameter-build", self._call_started)
        events.register("before-sign", self._propagate)
        events.register("after-call", self._call_answered)
        events.register("after-call-error", self._call_failed)

    def _call_started(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self._spans:
            return
        service = model.service_model.service_id
        span = Span(
            f"{service}.{model.name}",
            CLIENT,
            _span_id(),
            self._spans[0].span_id,
            self._clock(),
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": str(service),
                "rpc.method": model.name,
                "cloud.region": context.get("client_region") or "",
            },
        )
        context["webhook_processor.span"] = span
        self._spans.append(span)

    def _propagate(self, request: Any, **_: Any) -> None:
        """The call's trace header names its span as parent. botocore has already copied
        Lambda's header onto the request (Lambda's recursive-loop detection reads its
        ``Lineage``): only ``Parent`` is replaced, every other field is kept."""
        span = request.context.get("webhook_processor.span")
        if span is None or self._context is None:
            return
        present = request.headers.get("X-Amzn-Trace-Id")
        if isinstance(present, bytes):
            present = present.decode("latin-1")
        header = self._context.header(span.span_id, present or self._environ.get(TRACE_HEADER))
        del request.headers["X-Amzn-Trace-Id"]  # setting a header adds one more
        request.headers["X-Amzn-Trace-Id"] = header

    def _call_answered(self, parsed: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        span = self._ended(context)
        if span is None:
            return
        metadata = parsed.get("ResponseMetadata", {})
        if "RequestId" in metadata:
            span.attributes["aws.request_id"] = metadata["RequestId"]
        if "RetryAttempts" in metadata:
            span.attributes["retry_attempts"] = metadata["RetryAttempts"]
        status = metadata.get("HTTPStatusCode")
        if status is not None:
            span.attributes["http.status_code"] = status
            if status >= 400:
                span.error = parsed.get("Error", {}).get("Code") or str(status)

    def _call_failed(self, exception: BaseException, context: dict[str, Any], **_: Any) -> None:
        span = self._ended(context)
        if span is not None:
            span.error = type(exception).__name__

    def _ended(self, context: dict[str, Any]) -> Span | None:
        """The call's span, ended now; None for a call made outside an invocation."""
        span: Span | None = context.pop("webhook_processor.span", None)
        if span is not None:
            span.end_ns = self._clock()
        return span


class UdpSender:
    """Datagrams to ``AWS_XRAY_DAEMON_ADDRESS`` (``host:port``), without blocking; ValueError
    for an address that is not one. The socket lives as long as the container."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        text = environ.get(ENDPOINT, "127.0.0.1:2000")
        # One address, or the X-Ray daemon's "tcp:host:port udp:host:port": the UDP one.
        parts = text.split()
        udp = [part.removeprefix("udp:") for part in parts if part.startswith("udp:")]
        chosen = udp[0] if udp else parts[0] if len(parts) == 1 else ""
        host, _, port = chosen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{ENDPOINT} is not host:port: {text!r}")
        try:  # looked up once: the container keeps its endpoint
            found = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_DGRAM)
        except OSError as exc:
            raise ValueError(f"{ENDPOINT} names no IPv4 address: {text!r}") from exc
        self.address = (str(found[0][4][0]), int(port))
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)

    def __call__(self, datagram: bytes) -> None:
        self._socket.sendto(datagram, self.address)

    def close(self) -> None:
        self._socket.close()


def _span_id() -> bytes:
    return (random.getrandbits(64) or 1).to_bytes(8, "big")  # an all-zero id is invalid


# OTLP's protobuf (opentelemetry-proto, trace/v1/trace.proto and common/v1/common.proto): the
# fields written are the ones these spans have, each with its number and wire type.


def encode(
    trace_id: bytes, resource: Mapping[str, Attribute], spans: list[Span]
) -> Iterator[bytes]:
    """The datagrams that carry ``spans``: as many spans in each as fit."""
    head = _len(1, b"".join(_len(1, _key_value(k, v)) for k, v in resource.items()))
    scope = _len(1, _len(1, _text(SCOPE)))
    # base64 makes 4 bytes of 3; three tags and lengths of at most 4 bytes each wrap the spans.
    budget = (MAX_DATAGRAM - len(PREFIX)) * 3 // 4 - len(head) - len(scope) - 12
    batch: list[bytes] = []
    size = 0
    for span in spans:
        encoded = _len(2, _span(trace_id, span))
        if batch and size + len(encoded) > budget:
            yield _datagram(head, scope, batch)
            batch, size = [], 0
        batch.append(encoded)
        size += len(encoded)
    if batch:
        yield _datagram(head, scope, batch)


def _datagram(head: bytes, scope: bytes, spans: list[bytes]) -> bytes:
    request = _len(1, head + _len(2, scope + b"".join(spans)))
    return PREFIX + base64.b64encode(request)


def _span(trace_id: bytes, span: Span) -> bytes:
    parts = [
        _len(1, trace_id),
        _len(2, span.span_id),
        _len(4, span.parent_id),
        _len(5, _text(span.name)),
        _varint_field(6, span.kind),
        _fixed64(7, span.start_ns),
        _fixed64(8, span.end_ns or span.start_ns),
        *(_len(9, _key_value(k, v)) for k, v in span.attributes.items()),
    ]
    if span.error is not None:
        parts.append(_len(15, _len(2, _text(span.error)) + _varint_field(3, _ERROR)))
    return b"".join(parts)


def _key_value(key: str, value: Attribute) -> bytes:
    if isinstance(value, bool):
        any_value = _varint_field(2, int(value))
    elif isinstance(value, int) and -(2**63) <= value < 2**63:  # OTLP's int is an int64
        any_value = _varint_field(3, value)
    elif isinstance(value, float):
        any_value = b"\x21" + struct.pack("<d", value)
    else:
        any_value = _len(1, _text(str(value)))
    return _len(1, _text(key)) + _len(2, any_value)


def _text(text: str) -> bytes:
    """UTF-8; a lone surrogate, which UTF-8 cannot hold, becomes a question mark."""
    return text.encode("utf-8", "replace")


def _len(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value & 0xFFFF_FFFF_FFFF_FFFF)


def _fixed64(number: int, value: int) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<Q", value)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
