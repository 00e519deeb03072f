"""The deployment artifact: deterministic, complete, and a working handler on its own."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

import webhook_processor
from tests.integration.test_lambda import TEMPLATE
from tests.support.builders import STRIPE_SECRET, encode, stripe_event, stripe_headers
from tools.package_lambda import build, main
from webhook_processor.aws.items import TABLE_KEYS, event_key

pytestmark = pytest.mark.slow
UV = str(Path(sys.executable).parent / "uv")
HANDLER_RUNNER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from webhook_processor.aws.handlers.receiver import handler

class Context:
    function_name = "webhook-receiver-artifact"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:webhook-receiver-artifact"
    aws_request_id = "artifact-test"

response = handler(json.load(sys.stdin), Context())
import webhook_processor, botocore
print(json.dumps({"response": response, "package": webhook_processor.__file__, "botocore": botocore.__file__}))
"""


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Built twice: once as ``make package`` builds it (the command line), once by ``build``."""
    directory = tmp_path_factory.mktemp("artifact")
    first, second = directory / "first.zip", directory / "second.zip"
    assert main(["--output", str(first), "--uv", UV]) == 0
    build(second, UV)
    return first, second


def test_the_artifact_is_byte_identical_when_built_twice(artifacts: tuple[Path, Path]) -> None:
    first, second = artifacts
    assert first.read_bytes() == second.read_bytes()


def test_the_artifact_holds_the_package_and_its_dependencies_and_nothing_else(
    artifacts: tuple[Path, Path],
) -> None:
    with zipfile.ZipFile(artifacts[0]) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert "webhook_processor/aws/handlers/receiver.py" in names
    assert "webhook_processor/aws/handlers/publisher.py" in names
    assert "webhook_processor/aws/handlers/reconciler.py" in names
    assert "webhook_processor/reconcile/apis.py" in names
    assert any(n.startswith("aws_lambda_powertools/") for n in names)
    assert not any(n.startswith(("aws_xray_sdk/", "wrapt/")) for n in names)  # no X-Ray SDK
    assert "webhook_processor/aws/models/ssm/2014-11-06/service-2.json" in names
    assert any(n.startswith("boto3/") for n in names)
    # Every compiled extension is built for arm64 (without the X-Ray SDK's wrapt there is none).
    assert all(n.endswith("-aarch64-linux-gnu.so") for n in names if n.endswith(".so"))
    assert not [
        n
        for n in names
        if "__pycache__" in n or n.endswith(".pyc") or n.startswith(("tests/", "bin/"))
    ]


def test_the_artifact_carries_the_core_and_the_aws_wing_and_nothing_of_the_local_wing(
    artifacts: tuple[Path, Path],
) -> None:
    with zipfile.ZipFile(artifacts[0]) as archive:
        packaged = {n for n in archive.namelist() if n.startswith("webhook_processor/")}
    source = Path(webhook_processor.__file__).parent
    every = {
        f"webhook_processor/{path.relative_to(source).as_posix()}"
        for path in source.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    local = {n for n in every if n.startswith("webhook_processor/local/")}
    assert "webhook_processor/local/inspector/assets/inspector.js" in local
    assert "webhook_processor/local/sqlite/store.py" in local
    # Every module of the package but the local wing and the CLI over both wings, exactly.
    assert packaged == every - local - {"webhook_processor/cli.py"}
    assert "webhook_processor/aws/handlers/receiver.py" in packaged
    assert "webhook_processor/pipeline.py" in packaged
    assert not [n for n in packaged if n.endswith((".js", ".css", ".html", ".svg"))]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def task(artifacts: tuple[Path, Path], moto_server: str, tmp_path: Path) -> dict[str, Any]:
    """The artifact extracted as Lambda's /var/task, with a table and a secret on moto."""
    extracted = tmp_path / "task"
    with zipfile.ZipFile(artifacts[0]) as archive:
        archive.extractall(extracted)
    table = f"webhook-events-{tmp_path.name}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "TABLE_NAME": table,
        "SECRETS_PATH": f"/webhook-processor/{tmp_path.name}/secrets",
        "POWERTOOLS_SERVICE_NAME": "webhook-processor",
    }
    session = boto3.Session(region_name="us-east-1")
    session.client("dynamodb", endpoint_url=moto_server).create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST", **TABLE_KEYS
    )
    session.client("ssm", endpoint_url=moto_server).put_parameter(
        Name=f"{env['SECRETS_PATH']}/stripe", Value=STRIPE_SECRET, Type="SecureString"
    )
    return {"dir": extracted, "env": env, "session": session, "endpoint": moto_server}


def invoke_from_artifact(
    task: dict[str, Any], event_id: str, env: dict[str, str]
) -> dict[str, Any]:
    body = encode(stripe_event(event_id=event_id, amount=2500, currency="eur"))
    event: dict[str, Any] = json.loads(json.dumps(TEMPLATE))
    event["headers"].update(
        {k.lower(): v for k, v in stripe_headers(body, at=datetime.now(UTC)).items()}
    )
    event["body"] = body.decode()
    # -S: no site-packages, so only the standard library and the artifact can be imported.
    result = subprocess.run(
        [sys.executable, "-S", "-c", HANDLER_RUNNER, str(task["dir"])],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    output["stdout"] = result.stdout.splitlines()
    assert output["package"].startswith(str(task["dir"]))
    assert output["botocore"].startswith(str(task["dir"]))
    return output


def test_the_handler_runs_from_the_artifact_alone(task: dict[str, Any]) -> None:
    env = {**task["env"], "POWERTOOLS_TRACE_DISABLED": "true"}
    output = invoke_from_artifact(task, "evt_artifact", env)
    assert output["response"]["statusCode"] == 200, output
    assert json.loads(output["response"]["body"]) == {
        "status": "accepted",
        "event_ids": ["evt_artifact"],
    }
    dynamodb = task["session"].client("dynamodb", endpoint_url=task["endpoint"])
    item = dynamodb.get_item(
        TableName=env["TABLE_NAME"], Key={"pk": {"S": event_key("stripe", "evt_artifact")}}
    )["Item"]
    assert item["amount"] == {"N": "25.00"}


def test_with_tracing_on_the_handler_sends_its_spans_to_the_xray_endpoint(
    task: dict[str, Any],
) -> None:
    """As in Lambda: a trace header in the environment and the X-Ray endpoint on UDP (here,
    loopback). The spans are OTLP, the way AWS's exporter for Lambda sends them."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as endpoint:
        endpoint.bind(("127.0.0.1", 0))
        endpoint.settimeout(10)
        env = {
            **task["env"],
            "LAMBDA_TASK_ROOT": str(task["dir"]),
            "_X_AMZN_TRACE_ID": "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{endpoint.getsockname()[1]}",
        }
        output = invoke_from_artifact(task, "evt_traced", env)
        assert output["response"]["statusCode"] == 200, output
        datagram = endpoint.recv(65536)
    header, _, body = datagram.partition(b"\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    assert body.startswith(b"T1S")
    request = ExportTraceServiceRequest.FromString(base64.b64decode(body[3:]))
    spans = [s for r in request.resource_spans for ss in r.scope_spans for s in ss.spans]
    invocation, *calls = spans
    assert invocation.name == "webhook-receiver-artifact"
    assert invocation.parent_span_id == bytes.fromhex("53995c3f42cd8ad8")
    outcome = {a.key: a.value for a in invocation.attributes}
    assert outcome["webhook.disposition"].string_value == "accepted"
    assert outcome["http.response.status_code"].int_value == 200
    assert {"SSM.GetParameter", "DynamoDB.TransactWriteItems"} <= {c.name for c in calls}
    assert all(c.parent_span_id == invocation.span_id for c in calls)
    assert {s.trace_id for s in spans} == {bytes.fromhex("6745a1b20123456789abcdef01234567")}
    # Each log line carries the trace id: the logs and the trace are found from each other.
    logs = [json.loads(line) for line in output["stdout"] if line.startswith('{"level"')]
    assert logs
    assert all(line["xray_trace_id"] == "1-6745a1b2-0123456789abcdef01234567" for line in logs)
