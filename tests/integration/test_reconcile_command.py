"""``webhook-processor aws reconcile`` on moto: the reconciler function invoked synchronously as
the operator (Lambda's invocation answered by the reconciler's real handler), its report printed,
its exit status saying who must act; every call it makes an operator row of the access matrix."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody

from tests.infra.matrix import OPERATOR
from tests.integration.test_lambda import Context
from tests.integration.test_reconciler_on_aws import STACK, Reconciling, reconciling
from tests.support import calls as calls_module
from tests.support.builders import stripe_event
from webhook_processor.aws import commands as aws_commands
from webhook_processor.cli import main

RECONCILER_FUNCTION = "webhook-reconciler-test"


class _Answered:
    status_code = 200


@pytest.fixture
def setup() -> Iterator[Reconciling]:
    with reconciling() as built:
        built.stripe.events = [stripe_event("evt_missed", id="pi_missed")]
        yield built


def _outputs(tmp_path: Path, **outputs: str) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"table_name": "webhook-events-test", **outputs}))
    return path


@pytest.fixture
def cli(
    setup: Reconciling,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    session = boto3.Session()
    calls = calls_module.record(session, STACK)
    invoked: list[dict[str, Any]] = []

    def invoke(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        assert params["headers"].get("X-Amz-Invocation-Type") == "RequestResponse"
        payload = json.loads(params["body"])
        invoked.append(payload)
        body = json.dumps(setup.handler(payload, Context(function_name=RECONCILER_FUNCTION)))
        data = body.encode()
        return _Answered(), {
            "StatusCode": 200,
            "Payload": StreamingBody(io.BytesIO(data), len(data)),
        }

    session.events.register("before-call.lambda.Invoke", invoke)
    monkeypatch.setattr(aws_commands, "session", lambda args, outputs: session)
    outputs = _outputs(tmp_path, reconciler_function_name=RECONCILER_FUNCTION)

    def run(*args: str, stack_outputs: Path = outputs) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["aws", "reconcile", *args, "--stack-outputs", str(stack_outputs)])
        out, err = capsys.readouterr()
        return code, out, err

    run.invoked = invoked  # type: ignore[attr-defined]
    yield run
    assert calls_module.not_in_matrix(calls, OPERATOR, STACK) == []


def test_reconcile_prints_what_it_recovered_and_exits_0(cli: Any, setup: Reconciling) -> None:
    code, out, err = cli("stripe", "--since", "2h")
    assert (code, err) == (0, "")
    assert "listed 1, recovered 1, already stored 0, ignored 0" in out
    assert cli.invoked == [{"provider": "stripe", "dry_run": False, "since": "2h"}]
    assert [i["event_id"] for i in setup.deployed.items()] == ["evt_missed"]
    assert setup.calls  # the reconciler ran on the table, its calls held to its rows


def test_the_json_report_has_the_documented_fields(cli: Any) -> None:
    code, out, _ = cli("stripe", "--dry-run", "--json")
    assert code == 0
    # The handler runs in this process here: its log lines come before the command's output.
    report = json.loads(out.splitlines()[-1])
    assert list(report) == [
        "provider",
        "since",
        "until",
        "listed",
        "recovered",
        "already_stored",
        "ignored",
    ]
    assert (report["provider"], report["listed"], report["recovered"]) == ("stripe", 1, 1)


def test_a_dry_run_stores_nothing(cli: Any, setup: Reconciling) -> None:
    code, out, _ = cli("stripe", "--dry-run")
    assert code == 0
    assert "would recover 1" in out
    assert setup.deployed.items() == []


def test_a_failing_provider_api_exits_1_saying_so(cli: Any, setup: Reconciling) -> None:
    setup.stripe.failing = True
    code, out, err = cli("stripe")
    assert code == 1
    assert "listed 0" in out
    assert "the stripe events API answered 500" in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("square",), "apiKeys.square"),
        (("adyen",), "Customer Area"),
        (("stripe", "--since", "yesterday"), "neither a duration"),
        (("stripe", "--since", "40d"), "last 30 days"),
    ],
)
def test_bad_input_exits_2_saying_why(cli: Any, args: tuple[str, ...], says: str) -> None:
    code, _, err = cli(*args)
    assert code == 2
    assert says in err


def test_a_stack_without_a_reconciler_exits_2_saying_how_to_configure_it(
    cli: Any, tmp_path: Path
) -> None:
    code, _, err = cli("stripe", stack_outputs=_outputs(tmp_path))
    assert code == 2
    assert "pulumi config set --secret --path 'apiKeys.stripe'" in err
    assert cli.invoked == []
