"""The functions' spans, checked against OpenTelemetry itself: the bytes decode with its protobuf
classes, and an AWS call's span says what its botocore instrumentation says of the same call."""

from __future__ import annotations

import base64
import socket
import types
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from moto import mock_aws
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from webhook_processor.aws import tracing
from webhook_processor.aws.bootstrap import functions_session
from webhook_processor.aws.handlers import observability

HEADER = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ID = bytes.fromhex("6745a1b20123456789abcdef01234567")
PARENT = bytes.fromhex("53995c3f42cd8ad8")
RESOURCE = {"service.name": "webhook-processor-test", "cloud.provider": "aws"}


def decode(datagram: bytes) -> ExportTraceServiceRequest:
    assert datagram.startswith(tracing.PREFIX)  # AWS's header, then T1S: a sampled trace
    return ExportTraceServiceRequest.FromString(base64.b64decode(datagram[len(tracing.PREFIX) :]))


def spans_of(datagrams: list[bytes]) -> list[ProtoSpan]:
    return [
        span
        for datagram in datagrams
        for resource_spans in decode(datagram).resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def attributes(span: ProtoSpan) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in span.attributes:
        kind = pair.value.WhichOneof("value")
        assert kind is not None, pair
        values[pair.key] = getattr(pair.value, kind)
    return values


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER, tracing.TraceContext(TRACE_ID, PARENT)),
        (HEADER.replace("Sampled=1", "Sampled=0"), None),  # not sampled: nothing is sent
        ("Root=1-6745a1b2-0123456789abcdef01234567;Sampled=1", None),  # no parent
        ("Root=2-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1", None),
        ("Root=1-6745a1b2-0123;Parent=53995c3f42cd8ad8;Sampled=1", None),  # short trace id
        ("Root=1-zz45a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1", None),
        ("Root=1-6745a1b2-0123456789abcdef01234567;Parent=5399;Sampled=1", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_a_trace_header_is_followed_only_when_whole_and_sampled(
    header: str | None, expected: tracing.TraceContext | None
) -> None:
    assert tracing.TraceContext.from_header(header) == expected


def test_an_aws_call_carries_the_header_that_continues_the_trace_under_its_span() -> None:
    context = tracing.TraceContext(TRACE_ID, PARENT)
    header = context.header(bytes.fromhex("00f067aa0ba902b7"))
    assert header == "Root=1-6745a1b2-0123456789abcdef01234567;Parent=00f067aa0ba902b7;Sampled=1"
    assert tracing.TraceContext.from_header(header) == tracing.TraceContext(
        TRACE_ID, bytes.fromhex("00f067aa0ba902b7")
    )


def test_the_spans_decode_with_opentelemetrys_own_protobuf_classes() -> None:
    sent: list[bytes] = []
    ticks = iter(range(1_796_000_000_000_000_000, 1_796_000_000_000_000_000 + 10**9, 1000))
    tracer = tracing.Tracer(
        RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER}, clock=lambda: next(ticks)
    )

    def invoke() -> None:
        with tracer.invocation("webhook-receiver", **{"faas.coldstart": True}):
            tracer.annotate(
                **{"webhook.provider": "stripe", "webhook.events": 2, "ratio": 0.5, "ok": False}
            )
            raise KeyError("boom")

    with pytest.raises(KeyError):
        invoke()
    assert len(sent) == 1
    request = decode(sent[0])
    (resource_spans,) = request.resource_spans
    assert {p.key: p.value.string_value for p in resource_spans.resource.attributes} == RESOURCE
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == tracing.SCOPE
    (span,) = scope_spans.spans
    assert span.trace_id == TRACE_ID
    assert span.parent_span_id == PARENT
    assert len(span.span_id) == 8
    assert span.span_id != bytes(8)
    assert span.name == "webhook-receiver"
    assert span.kind == ProtoSpan.SPAN_KIND_SERVER
    assert span.start_time_unix_nano == 1_796_000_000_000_000_000
    assert span.end_time_unix_nano == 1_796_000_000_000_001_000
    assert attributes(span) == {
        "faas.coldstart": True,
        "webhook.provider": "stripe",
        "webhook.events": 2,
        "ratio": 0.5,
        "ok": False,
    }
    # The error's type, never its message (a message can quote the payload).
    assert span.status.code == Status.STATUS_CODE_ERROR
    assert span.status.message == "KeyError"


def test_no_span_is_sent_or_kept_outside_a_sampled_invocation() -> None:
    sent: list[bytes] = []
    unsampled = {tracing.TRACE_HEADER: HEADER.replace("Sampled=1", "Sampled=0")}
    tracer = tracing.Tracer(RESOURCE, sent.append, environ=unsampled)
    with tracer.invocation("webhook-receiver"):
        tracer.annotate(**{"webhook.provider": "stripe"})
    tracer.annotate(**{"after": 1})  # no invocation: nothing to annotate
    assert sent == []


def test_many_spans_go_in_as_many_datagrams_as_they_need_each_within_udps_limit() -> None:
    sent: list[bytes] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    with tracer.invocation("webhook-publisher"):
        for number in range(1500):  # a publisher's batch of many SNS calls
            tracer._spans.append(
                tracing.Span(f"SNS.Publish {number}", tracing.CLIENT, b"\x01" * 8, PARENT, 1, 2)
            )
    assert len(sent) > 1
    assert all(len(datagram) <= tracing.MAX_DATAGRAM for datagram in sent)
    names = [span.name for span in spans_of(sent)]
    assert names == ["webhook-publisher"] + [f"SNS.Publish {n}" for n in range(1500)]


def test_a_span_that_cannot_be_sent_never_fails_the_invocation() -> None:
    def refuse(datagram: bytes) -> None:
        raise OSError("no X-Ray endpoint")

    tracer = tracing.Tracer(RESOURCE, refuse, environ={tracing.TRACE_HEADER: HEADER})
    with tracer.invocation("webhook-receiver"):
        answer = 200
    assert answer == 200


@pytest.mark.parametrize("address", ["nonsense", "127.0.0.1:", ":2000", "127.0.0.1:99999"])
def test_an_endpoint_that_is_not_host_and_port_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="AWS_XRAY_DAEMON_ADDRESS"):
        tracing.UdpSender({tracing.ENDPOINT: address})


@pytest.fixture
def oracle() -> Iterator[InMemorySpanExporter]:
    """OpenTelemetry's botocore instrumentation, recording into memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()


COMPARED = (
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "cloud.region",
    "aws.request_id",
    "retry_attempts",
    "http.status_code",
)


def test_each_aws_call_is_the_span_opentelemetrys_botocore_instrumentation_makes(
    oracle: InMemorySpanExporter,
) -> None:
    sent: list[bytes] = []
    headers: list[str] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    with mock_aws():
        session = functions_session(tracer.instrument)
        session.events.register(
            "before-send",
            lambda request, **_: headers.append(request.headers["X-Amzn-Trace-Id"].decode()),
        )
        ssm = session.client("ssm")
        boto3.client("ssm").put_parameter(Name="/s", Value="v", Type="SecureString")
        with tracer.invocation("webhook-receiver"):
            assert ssm.get_parameter(Name="/s", WithDecryption=True)["Parameter"]["Value"] == "v"
            with pytest.raises(ClientError):
                ssm.get_parameter(Name="/missing")
    ours = spans_of(sent)[1:]
    theirs: list[ReadableSpan] = [
        span for span in oracle.get_finished_spans() if span.name.startswith("SSM.GetParameter")
    ][-2:]
    assert (
        [span.name for span in ours] == [span.name for span in theirs] == ["SSM.GetParameter"] * 2
    )
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.kind == ProtoSpan.SPAN_KIND_CLIENT
        assert reference.kind is SpanKind.CLIENT
        expected = {k: v for k, v in (reference.attributes or {}).items() if k in COMPARED}
        assert {k: v for k, v in attributes(mine).items() if k in COMPARED} == expected
        assert set(expected) == set(COMPARED)
        failed = reference.status.status_code is StatusCode.ERROR
        assert (mine.status.code == Status.STATUS_CODE_ERROR) is failed
    assert ours[1].status.message == "ParameterNotFound"
    # Each call hangs from the invocation's span, and tells AWS so in its trace header.
    invocation = spans_of(sent)[0]
    assert all(span.parent_span_id == invocation.span_id for span in ours)
    assert headers[-2:] == [
        f"Root=1-6745a1b2-0123456789abcdef01234567;Parent={span.span_id.hex()};Sampled=1"
        for span in ours
    ]


def test_a_call_that_gets_no_answer_is_a_failed_span_named_by_its_error() -> None:
    sent: list[bytes] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    session = functions_session(tracer.instrument)
    client = session.client(
        "ssm",
        endpoint_url="http://127.0.0.1:9",  # the discard port: nothing answers
        config=Config(connect_timeout=1, retries={"max_attempts": 1, "mode": "standard"}),
    )
    with tracer.invocation("webhook-receiver"), pytest.raises(EndpointConnectionError):
        client.get_parameter(Name="/s")
    (call,) = spans_of(sent)[1:]
    assert call.name == "SSM.GetParameter"
    assert call.status.code == Status.STATUS_CODE_ERROR
    assert call.status.message == "EndpointConnectionError"
    assert call.end_time_unix_nano >= call.start_time_unix_nano


def test_the_functions_ssm_client_has_the_one_operation_their_roles_allow() -> None:
    """The cut model (tools/service_models.py) is what the functions' session loads."""
    client = functions_session().client("ssm", region_name="us-east-1")
    assert client.meta.service_model.operation_names == ["GetParameter"]
    assert (
        boto3.Session().client("ssm", region_name="us-east-1").can_paginate("describe_parameters")
    )  # any other session: botocore's whole model


def test_calls_outside_an_invocation_make_no_span() -> None:
    sent: list[bytes] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    with mock_aws():
        ssm = functions_session(tracer.instrument).client("ssm")
        with pytest.raises(ClientError):
            ssm.get_parameter(Name="/before")  # a client made and used before any invocation
        with tracer.invocation("webhook-receiver"):
            pass
        with pytest.raises(ClientError):
            ssm.get_parameter(Name="/after")
    assert [span.name for span in spans_of(sent)] == ["webhook-receiver"]


def test_the_udp_sender_delivers_a_datagram_to_the_endpoint() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as endpoint:
        endpoint.bind(("127.0.0.1", 0))
        endpoint.settimeout(5)
        send = tracing.UdpSender({tracing.ENDPOINT: f"127.0.0.1:{endpoint.getsockname()[1]}"})
        try:
            send(tracing.PREFIX + b"AAAA")
            assert endpoint.recv(100) == tracing.PREFIX + b"AAAA"
        finally:
            send.close()


def test_the_functions_tracer_is_made_from_their_environment() -> None:
    lambda_environment = {
        "AWS_LAMBDA_FUNCTION_NAME": "webhook-receiver-test",
        "AWS_REGION": "eu-west-1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        tracing.TRACE_HEADER: HEADER,
    }
    assert (
        observability.make_tracer({**lambda_environment, "POWERTOOLS_TRACE_DISABLED": "true"})
        is None
    )
    assert observability.make_tracer({**lambda_environment, "AWS_XRAY_DAEMON_ADDRESS": "x"}) is None
    tracer = observability.make_tracer(lambda_environment)
    assert tracer is not None
    assert tracer._resource == {
        "service.name": "webhook-receiver-test",  # no POWERTOOLS_SERVICE_NAME: the function's
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
        "cloud.region": "eu-west-1",
        "faas.name": "webhook-receiver-test",
    }
    assert isinstance(tracer._send, tracing.UdpSender)
    assert tracer._send.address == ("127.0.0.1", 2000)
    tracer._send.close()


def test_an_instrumented_handler_sends_its_invocation_and_calls_cold_start_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[bytes] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    monkeypatch.setattr(observability, "tracer", tracer)

    with mock_aws():
        ssm = observability.traced_session().client("ssm")

        @observability.instrument
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            observability.annotate(**{"webhook.disposition": "accepted"})
            observability.metrics.add_metric(name="Received", unit="Count", value=1)
            with pytest.raises(ClientError):
                ssm.get_parameter(Name="/missing")
            return {"ok": True}

        context = types.SimpleNamespace(
            function_name="webhook-receiver-test",
            memory_limit_in_mb=1024,
            invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:x",
            aws_request_id="r-1",
        )
        assert handler({}, context) == {"ok": True}
        assert handler({}, context) == {"ok": True}
    first, second = (spans_of([datagram]) for datagram in sent)
    assert [span.name for span in first] == ["webhook-receiver-test", "SSM.GetParameter"]
    assert attributes(first[0]) == {
        "faas.invocation_id": "r-1",
        "faas.coldstart": True,
        "webhook.disposition": "accepted",
    }
    assert attributes(second[0])["faas.coldstart"] is False


def test_text_utf8_cannot_hold_and_ints_beyond_int64_are_still_written() -> None:
    sent: list[bytes] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    with tracer.invocation("receiver \ud800"):
        tracer.annotate(**{"big": 2**70, "small": -(2**63), "name\udfff": "caf\u00e9 \ud800"})
    (span,) = spans_of(sent)
    assert span.name == "receiver ?"
    assert attributes(span) == {"big": str(2**70), "small": -(2**63), "name?": "café ?"}


def test_spans_that_cannot_be_encoded_are_dropped_and_the_invocation_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> Iterator[bytes]:
        raise RuntimeError("an encoder defect")

    monkeypatch.setattr(tracing, "encode", broken)
    sent: list[bytes] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    with tracer.invocation("webhook-receiver"):
        answer = {"statusCode": 200}
    assert answer == {"statusCode": 200}
    assert sent == []
    assert "spans dropped" in caplog.text


def test_an_aws_calls_header_keeps_lambdas_lineage_and_names_the_calls_span() -> None:
    """Lambda's recursive-loop detection counts hops in ``Lineage``: it must pass on."""
    header = f"{HEADER};Lineage=1:a87bd80c:3"
    environ = {tracing.TRACE_HEADER: header, "AWS_LAMBDA_FUNCTION_NAME": "webhook-publisher"}
    sent: list[bytes] = []
    seen: list[list[str]] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ=environ)
    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)  # botocore copies Lambda's header from the environment
        session = functions_session(tracer.instrument)
        session.events.register(
            "before-send",
            lambda request, **_: seen.append(
                [v.decode() for k, v in request.headers.items() if k.lower() == "x-amzn-trace-id"]
            ),
        )
        ssm = session.client("ssm")
        with tracer.invocation("webhook-publisher"), pytest.raises(ClientError):
            ssm.get_parameter(Name="/missing")
    (call,) = spans_of(sent)[1:]
    assert seen == [
        [
            "Root=1-6745a1b2-0123456789abcdef01234567;"
            f"Parent={call.span_id.hex()};Sampled=1;Lineage=1:a87bd80c:3"
        ]
    ]


def test_a_call_refused_before_it_is_sent_is_a_failed_span() -> None:
    sent: list[bytes] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    ssm = functions_session(tracer.instrument).client("ssm", region_name="us-east-1")
    with tracer.invocation("webhook-receiver"), pytest.raises(ParamValidationError):
        ssm.get_parameter(Name=17)
    (call,) = spans_of(sent)[1:]
    assert (call.name, call.status.message) == ("SSM.GetParameter", "NotSent")
    assert call.status.code == Status.STATUS_CODE_ERROR


def test_an_invocation_answered_with_a_503_is_a_failed_span() -> None:
    sent: list[bytes] = []
    tracer = tracing.Tracer(RESOURCE, sent.append, environ={tracing.TRACE_HEADER: HEADER})
    with tracer.invocation("webhook-receiver"):
        tracer.fail("secret_unavailable")
    (span,) = spans_of(sent)
    assert (span.status.code, span.status.message) == (
        Status.STATUS_CODE_ERROR,
        "secret_unavailable",
    )


def test_the_daemons_tcp_and_udp_address_form_sends_to_the_udp_one() -> None:
    send = tracing.UdpSender({tracing.ENDPOINT: "tcp:127.0.0.1:2000 udp:127.0.0.1:2001"})
    try:
        assert send.address == ("127.0.0.1", 2001)
    finally:
        send.close()
    with pytest.raises(ValueError, match="no IPv4 address"):
        tracing.UdpSender({tracing.ENDPOINT: "no-such-host.invalid:2000"})
