"""A Lambda container loads only what its function runs: importing a handler in a fresh
interpreter, and building what its first invocation builds, loads none of the local
processor's modules or its stack."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from typing import Any

import pytest

#: What only the local processor uses. urllib.request is there for its HTTP subscribers.
LOCAL_ONLY = (
    "sqlite3",
    "asyncio",
    "starlette",
    "uvicorn",
    "urllib.request",
    "webhook_processor.local.server",
    "webhook_processor.cli",
    "webhook_processor.local.dispatcher",
    "webhook_processor.local.sinks",
    "webhook_processor.local.sqlite.store",
    "webhook_processor.storage.memory",
)


def modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after ``statement``."""
    script = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def first_invocation(env: dict[str, str], after: str, before: str = "") -> Any:
    """What ``after`` prints as JSON in a fresh interpreter with ``env``, once the receiver's
    handler is imported and its first invocation (an unknown route: it builds its clients and
    calls nothing) has run; ``before`` runs just before that invocation."""
    script = (
        "import gc, json, sys, types\n"
        "from webhook_processor.aws.handlers import receiver\n"
        "context = types.SimpleNamespace(function_name='receiver', memory_limit_in_mb=1024,\n"
        "    invoked_function_arn='arn:aws:lambda:us-east-1:1:function:receiver',\n"
        "    aws_request_id='r1')\n"
        "event = {'rawPath': '/x', 'headers': {}, 'body': '',\n"
        "    'requestContext': {'http': {'method': 'POST', 'path': '/x'}}}\n"
        + before
        + "receiver.handler(event, context)\n"
        + after
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


#: Each handler's import, then what its first invocation builds (clients, no network call).
FIRST_INVOCATIONS = {
    "receiver": "build_receiver(AwsConfig(table_name='t'))",
    "publisher": (
        "build_publisher(AwsConfig(topic_arn='arn:aws:sns:us-east-1:1:t', table_name='t', "
        "publish_failures_url='https://sqs.us-east-1.amazonaws.com/1/q'))"
    ),
    "reconciler": (
        "build_reconciler(AwsConfig(table_name='t', "
        """api_key_parameters='{"stripe": "/webhook-processor/t/api-keys/stripe"}'))"""
    ),
}


@pytest.mark.parametrize("handler", sorted(FIRST_INVOCATIONS))
def test_a_handler_loads_nothing_of_the_local_processor(handler: str) -> None:
    loaded = modules_after(
        f"import webhook_processor.aws.handlers.{handler}; "
        "from webhook_processor.aws.bootstrap import "
        "AwsConfig, build_publisher, build_receiver, build_reconciler; "
        + FIRST_INVOCATIONS[handler]
    )
    assert {f"webhook_processor.aws.handlers.{handler}", "boto3"} <= loaded
    # boto3 brings urllib.request with it (its own dependencies); the publisher needs boto3
    # to read stream images. What boto3 loads by itself is not ours to remove.
    boto3_own = modules_after("import boto3")
    assert sorted(m for m in LOCAL_ONLY if m in loaded and m not in boto3_own) == []


def test_the_receiver_defers_boto3_and_the_providers_to_its_first_invocation() -> None:
    loaded = modules_after("import webhook_processor.aws.handlers.receiver")
    assert {"boto3", "webhook_processor.pipeline", "webhook_processor.providers"} & loaded == set()


def test_the_reconciler_loads_no_http_library_beyond_the_standard_librarys() -> None:
    """The events APIs are two requests on ``http.client``: no SDK, no third-party client."""
    loaded = modules_after(
        "import webhook_processor.aws.handlers.reconciler; "
        "from webhook_processor.aws.bootstrap import AwsConfig, build_reconciler; "
        + FIRST_INVOCATIONS["reconciler"]
    )
    assert "webhook_processor.reconcile.apis" in loaded
    assert {"stripe", "square", "httpx", "requests", "urllib3.poolmanager"} & loaded <= {
        m for m in ("urllib3.poolmanager",) if m in modules_after("import boto3")
    }


def test_with_tracing_on_the_first_invocation_loads_no_tracing_sdk() -> None:
    """The spans are written by hand: neither the X-Ray SDK (about 80 ms of a cold start) nor
    OpenTelemetry's SDK (90 ms, and 170 ms more for its protobuf encoder) is imported."""
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "TABLE_NAME": "t",
        "AWS_LAMBDA_FUNCTION_NAME": "receiver",
        "LAMBDA_TASK_ROOT": ".",
        "_X_AMZN_TRACE_ID": "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
    }
    traced, modules = first_invocation(
        env,
        "from webhook_processor.aws.handlers import observability\n"
        "print(json.dumps([observability.tracer is not None, sorted(sys.modules)]))\n",
    )
    assert traced
    assert "webhook_processor.aws.tracing" in modules
    assert not [m for m in modules if m.startswith(("aws_xray_sdk", "opentelemetry", "google"))]


def test_the_first_invocation_runs_no_full_collection_and_freezes_what_it_built() -> None:
    """A full collection among the clients the first invocation makes was about 25 ms of each
    cold start: the build runs with the collector paused, then freezes the heap, so the
    collection is not merely moved into the invocation after it."""
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "TABLE_NAME": "t",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    full_collections, enabled, frozen = first_invocation(
        env,
        "print(json.dumps([len(full), gc.isenabled(), gc.get_freeze_count()]))\n",
        before=(
            "full = []\n"
            "gc.callbacks.append(lambda phase, info: full.append(1)\n"
            "    if phase == 'stop' and info['generation'] == 2 else None)\n"
        ),
    )
    assert (full_collections, enabled) == (0, True)
    assert frozen > 10_000  # boto3, its clients' models and the pipeline: never scanned again


@pytest.fixture
def no_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if this process had frozen its heap already: a test run must not freeze its own."""
    from webhook_processor.aws.handlers import observability

    monkeypatch.setattr(observability, "_frozen", [True])


@pytest.mark.usefixtures("no_freeze")
def test_a_build_runs_once_with_the_collector_paused() -> None:
    from webhook_processor.aws.handlers.observability import built_once

    seen: list[bool] = []

    def build() -> object:
        seen.append(gc.isenabled())
        return object()

    built = built_once(build)
    first = built()
    assert built() is first
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.usefixtures("no_freeze")
def test_a_build_that_fails_resumes_the_collector_and_is_tried_again() -> None:
    from webhook_processor.aws.handlers.observability import built_once

    attempts: list[int] = []

    def build() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("SSM unreachable")
        return len(attempts)

    built = built_once(build)
    with pytest.raises(RuntimeError):
        built()
    assert gc.isenabled()
    assert built() == 2


@pytest.mark.usefixtures("no_freeze")
def test_a_collector_the_caller_paused_stays_paused() -> None:
    from webhook_processor.aws.handlers.observability import built_once

    gc.disable()
    try:
        built_once(object)()
        assert not gc.isenabled()
    finally:
        gc.enable()
