"""An operator of the stack on moto: ``webhook-processor aws ...`` run in-process with a session
whose calls are recorded and held to the access matrix's operator rows, Lambda's invocation of
the receiver answered by the receiver's real handler, and what Lambda itself would put in the
receiver's dead-letter queue."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody

from tests.infra.matrix import OPERATOR, Stack
from tests.integration.test_lambda import Deployed
from tests.support import calls as calls_module
from webhook_processor.aws import commands as aws_commands
from webhook_processor.cli import main
from webhook_processor.errors import WebhookError

RECEIVER_FUNCTION = "webhook-receiver-test"


class _Answered:
    status_code = 200


@dataclass
class Operator:
    """The operator's CLI and view of the stack."""

    deployed: Deployed
    session: boto3.Session
    outputs: Path
    capsys: pytest.CaptureFixture[str]
    calls: list[calls_module.Call]

    def run(self, *args: str) -> tuple[int, str, str]:
        """``webhook-processor aws ARGS --stack-outputs FILE``: exit status, stdout, stderr."""
        self.capsys.readouterr()
        code = main(["aws", *args, "--stack-outputs", str(self.outputs)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def rows(self, *args: str) -> list[dict[str, Any]]:
        code, out, err = self.run(*args, "--json")
        assert (code, err) == (0, "")
        rows: list[dict[str, Any]] = json.loads(out)
        return rows

    def dead_letter(self, payload: dict[str, Any], error: WebhookError) -> None:
        """What Lambda puts in the receiver's dead-letter queue when every asynchronous attempt
        of ``payload`` failed: the payload as it was invoked, the error in attributes."""
        self.deployed.session.client("sqs").send_message(
            QueueUrl=self.deployed.resources.dlq_url,
            MessageBody=json.dumps(payload),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": "8d6f1ac3-0000-4000-8000-1"},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": error.detail},
            },
        )

    def queue_bodies(self, url: str) -> list[str]:
        """Every body in a queue, left in it."""
        sqs = self.deployed.session.client("sqs")
        found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return sorted(m["Body"] for m in found.get("Messages", []))


def operate(
    deployed: Deployed,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stack: Stack,
) -> Iterator[Operator]:
    """An operator of ``deployed``; after the test, every call it made must be an operator
    row of the access matrix."""
    resources = deployed.resources
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "table_name": "webhook-events-test",
                "topic_arn": resources.topic_arn,
                "dlq_url": resources.dlq_url,
                "publish_failures_url": resources.publish_failures_url,
                "receiver_function_name": RECEIVER_FUNCTION,
                "kms_key_arn": "not read by the commands",
            }
        )
    )
    session = boto3.Session()
    calls = calls_module.record(session, stack)
    session.events.register("before-call.lambda.Invoke", _invoke_receiver(deployed))
    monkeypatch.setattr(aws_commands, "session", lambda args, outputs: session)
    monkeypatch.setattr(aws_commands, "RECEIVE_WAIT_SECONDS", 0)  # moto's queues are local
    yield Operator(deployed, session, outputs, capsys, calls)
    assert calls_module.not_in_matrix(calls, OPERATOR, stack) == []


def _invoke_receiver(deployed: Deployed) -> Any:
    """Lambda's synchronous invocation, answered by the receiver's handler (moto would need
    Docker to run it): the payload parsed as Lambda parses it, an error as Lambda reports it."""

    def invoke(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        try:
            answer = deployed.invoke(json.loads(params["body"]))
            extra = {}
        except WebhookError as error:
            answer = {"errorMessage": error.detail, "errorType": type(error).__name__}
            extra = {"FunctionError": "Unhandled"}
        body = json.dumps(answer).encode()
        payload = StreamingBody(io.BytesIO(body), len(body))
        return _Answered(), {"StatusCode": 200, "Payload": payload, **extra}

    return invoke
