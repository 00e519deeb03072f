"""``webhook-processor aws``: its inputs, its errors, the install without boto3, the progress
bar, and how each kind of queue message is decoded."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from webhook_processor.aws import handoff
from webhook_processor.aws.commands import MISSING_EXTRA, Progress, StackOutputs
from webhook_processor.aws.failure_queues import (
    PUBLISHER,
    RECEIVER,
    RedriveFailed,
    Redriver,
    StreamReader,
    decode,
    invoker,
)
from webhook_processor.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["aws", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_operators_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["aws", "--help"])
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines() if len(line) - len(line.lstrip()) == 4]
    assert names == [
        "dead-letters",
        "redrive",
        "events",
        "transactions",
        "transaction",
        "reconcile",
    ]
    assert "pulumi stack output --json" in out


def test_a_command_without_the_stack_says_which_outputs_and_flags_it_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "transactions")
    assert code == 2
    assert err == (
        "error: the stack's table_name is not known: pass --stack-outputs FILE "
        "(pulumi stack output --json > FILE) or --table-name\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read --stack-outputs"),
        ("{not json", "cannot read --stack-outputs"),
        ("[1, 2]", "--stack-outputs must hold 'pulumi stack output --json'"),
    ],
)
def test_a_bad_stack_outputs_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content)
    code, _, err = run(capsys, "events", "--stack-outputs", str(path))
    assert code == 2
    assert err.startswith(f"error: {message}")


def test_flags_override_the_outputs_file_and_the_region_comes_from_the_stack(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps({"table_name": "from-file", "topic_arn": "arn:aws:sns:eu-west-1:1:t"})
    )
    args = type("Args", (), {"stack_outputs": str(path), "table_name": "from-flag"})()
    outputs = StackOutputs.from_args(args)  # type: ignore[arg-type]
    assert (outputs.table_name, outputs.region) == ("from-flag", "eu-west-1")
    queue = StackOutputs(dlq_url="https://sqs.ap-south-1.amazonaws.com/1/webhook-dlq-x")
    assert queue.region == "ap-south-1"
    assert StackOutputs().region is None


def test_the_stacks_region_wins_over_the_callers_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from webhook_processor.aws.commands import session

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    outputs = StackOutputs(dlq_url="https://sqs.eu-west-1.amazonaws.com/1/webhook-dlq-x")
    args = type("Args", (), {"profile": None, "region": None})()
    assert session(args, outputs).region_name == "eu-west-1"  # type: ignore[arg-type]
    args.region = "ap-south-1"
    assert session(args, outputs).region_name == "ap-south-1"  # type: ignore[arg-type]
    assert session(args, StackOutputs()).region_name == "ap-south-1"  # type: ignore[arg-type]
    args.region = None
    assert session(args, StackOutputs()).region_name == "us-east-1"  # type: ignore[arg-type]


def test_without_outputs_or_a_region_it_says_how_to_name_the_stack(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    code, _, err = run(capsys, "dead-letters", "--queue", "receiver", "--dlq-url", "x")
    assert code == 2
    assert err.startswith("error: no AWS region: pass --stack-outputs FILE")


def test_aws_refusing_a_call_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mock_aws():
        code, _, err = run(
            capsys,
            "dead-letters",
            "--queue",
            "receiver",
            "--dlq-url",
            "https://sqs.us-east-1.amazonaws.com/123456789012/webhook-dlq-gone",
        )
    assert code == 1
    assert err.startswith("error: AWS refused: An error occurred (AWS.SimpleQueueService.")
    assert "Traceback" not in err


def test_without_boto3_the_local_commands_work_and_aws_says_what_to_install(
    tmp_path: Path,
) -> None:
    """The local install has no aws extra: simulated by making ``import boto3`` fail."""
    script = (
        "import sys; sys.modules['boto3'] = None; "
        "from webhook_processor.cli import main; sys.exit(main(sys.argv[1:]))"
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
        )

    local = cli("transactions", "--data-dir", str(tmp_path))
    assert (local.returncode, local.stderr.split(":")[0]) == (2, "error")
    assert "no database at" in local.stderr  # the local command ran, boto3 or not
    aws = cli("aws", "transactions", "--table-name", "t")
    assert (aws.returncode, aws.stderr) == (2, f"error: {MISSING_EXTRA}\n")
    assert "pip install 'webhook-processor[aws]'" in MISSING_EXTRA


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_redrive_draws_a_progress_bar_on_a_terminal_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    screen = Terminal()
    progress = Progress(4, screen)
    progress.say("redrove one")
    progress.step()
    progress.step()
    assert screen.getvalue().endswith("\r[###############...............] 2/4")
    progress.finish()
    assert screen.getvalue().endswith("\r")
    assert capsys.readouterr().out == "redrove one\n"
    pipe = io.StringIO()
    quiet = Progress(4, pipe)
    quiet.step()
    quiet.finish()
    assert pipe.getvalue() == ""


# -- decoding ---------------------------------------------------------------------------------


def message(body: str, **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body,
        "Attributes": {"SentTimestamp": "1795939200000"},
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    }


def test_a_replayed_delivery_is_decoded_with_its_provider_and_signed_id() -> None:
    body = json.dumps(
        {
            "body": json.dumps({"amount": "5.00", "currency": "EUR"}),
            "headers": {"webhook-id": "msg_7"},
            "provider": "generic",
        }
    )
    letter = decode(RECEIVER, message(body, ErrorMessage="no secret"))
    assert (letter.kind, letter.provider, letter.event_id) == ("invocation", "generic", "msg_7")
    assert (letter.amount, letter.currency, letter.error) == (Decimal("5.00"), "EUR", "no secret")
    assert letter.sent_at is not None
    assert letter.sent_at.year == 2026


@pytest.mark.parametrize(
    ("queue", "body", "error"),
    [
        (RECEIVER, "{truncated", "not an invocation payload: body is not valid JSON"),
        (PUBLISHER, '{"kind": "handed_off"}', "a handed_off message without its fields"),
        (PUBLISHER, '{"kind": "other"}', "not a publish-failures message (kind 'other')"),
        (PUBLISHER, "[]", "body must be a JSON object"),
    ],
)
def test_a_body_no_part_of_the_stack_wrote_is_unreadable_not_an_error(
    queue: str, body: str, error: str
) -> None:
    letter = decode(queue, message(body))
    assert (letter.kind, letter.event_id) == ("unreadable", None)
    assert letter.error.startswith(error)


def test_lambdas_record_of_a_discarded_stream_batch_is_shown_and_kept() -> None:
    record = {
        "requestContext": {"condition": "RecordAgeExceeded"},
        "DDBStreamBatchInfo": {
            "shardId": "shardId-1",
            "startSequenceNumber": "100",
            "endSequenceNumber": "140",
            "approximateArrivalOfFirstRecord": "2026-11-28T12:00:00Z",
        },
    }
    letter = decode(PUBLISHER, message(json.dumps(record)))
    assert (letter.kind, letter.event_id) == ("stream_batch", "shardId-1 100..140")
    assert letter.error == (
        "RecordAgeExceeded: records from 2026-11-28T12:00:00Z, Lambda discarded them"
    )
    nobody: Any = None
    with pytest.raises(RedriveFailed, match="this redrive cannot read the stream"):
        Redriver(nobody, nobody, nobody, nobody).redrive(letter)
    unreadable = handoff.UnreadableRecord("txn#stripe#pi_1", "7", "cannot read", "2026")
    kept = decode(PUBLISHER, message(handoff.encode(unreadable)))
    assert (kept.kind, kept.event_id) == ("unreadable_record", "txn#stripe#pi_1 @7")
    with pytest.raises(RedriveFailed, match="fix its item, then delete this message"):
        Redriver(nobody, nobody, nobody, nobody).redrive(kept)


class FakeStreams:
    """A shard of records 100..199, read ``limit`` at a time (the first ``empty`` pages hold
    nothing, as GetRecords may answer mid-shard); or an error."""

    def __init__(self, error: str | None = None, limit: int = 3, empty: int = 0) -> None:
        self.error, self.limit, self.reads, self.empty = error, limit, 0, empty

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        if self.error:
            raise ClientError(
                {"Error": {"Code": self.error, "Message": "gone"}}, "GetShardIterator"
            )
        assert kwargs["ShardIteratorType"] == "AT_SEQUENCE_NUMBER"
        return {"ShardIterator": kwargs["SequenceNumber"]}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.reads += 1
        start = int(ShardIterator)
        if self.reads <= self.empty:
            return {"Records": [], "NextShardIterator": ShardIterator}
        records = [
            {"dynamodb": {"SequenceNumber": str(n)}}
            for n in range(start, min(start + self.limit, 200))
        ]
        return {"Records": records, "NextShardIterator": str(start + self.limit)}


BATCH = {"streamArn": "arn", "shardId": "shardId-1", "startSequenceNumber": "100"}


def test_a_discarded_batch_is_read_back_from_its_first_record_to_its_last() -> None:
    streams = FakeStreams()
    records = StreamReader(streams).batch({**BATCH, "endSequenceNumber": "107"})
    assert [r["dynamodb"]["SequenceNumber"] for r in records] == [str(n) for n in range(100, 108)]
    assert streams.reads == 3  # pages of 3 until the last record is passed


def test_empty_pages_mid_shard_are_followed_and_the_count_is_checked() -> None:
    streams = FakeStreams(empty=2)
    records = StreamReader(streams).batch({**BATCH, "endSequenceNumber": "104", "batchSize": 5})
    assert len(records) == 5
    assert streams.reads == 4  # two empty pages, then 100..102 and 103..105
    with pytest.raises(RedriveFailed, match="read 5 of the batch's 6 records"):
        StreamReader(FakeStreams()).batch({**BATCH, "endSequenceNumber": "104", "batchSize": 6})


@pytest.mark.parametrize("code", ["TrimmedDataAccessException", "ResourceNotFoundException"])
def test_a_batch_the_stream_has_let_go_is_a_redrive_failure_that_says_what_to_do(code: str) -> None:
    with pytest.raises(RedriveFailed, match="the stream no longer holds this batch"):
        StreamReader(FakeStreams(code)).batch({**BATCH, "endSequenceNumber": "107"})
    with pytest.raises(ClientError):  # anything else is the operator's to see, as it is
        StreamReader(FakeStreams("AccessDeniedException")).batch(
            {**BATCH, "endSequenceNumber": "107"}
        )


def test_a_batch_past_the_shards_end_reads_nothing_and_fails() -> None:
    with pytest.raises(RedriveFailed, match="no longer holds"):
        StreamReader(FakeStreams()).batch(
            {**BATCH, "startSequenceNumber": "300", "endSequenceNumber": "301"}
        )


class FakeLambda:
    def __init__(self, answer: bytes, **extra: str) -> None:
        self.answer, self.extra = answer, extra

    def invoke(self, **_: Any) -> dict[str, Any]:
        return {"StatusCode": 200, "Payload": io.BytesIO(self.answer), **self.extra}


def test_an_invocation_that_raised_is_a_refusal_whatever_its_answer() -> None:
    client: Any = FakeLambda(b'"boom"', FunctionError="Unhandled")
    assert invoker(client, "f")("{}") == {"answer": "boom", "errorMessage": "Unhandled"}
    client = FakeLambda(b"")
    assert invoker(client, "f")("{}") == {}


def test_the_operator_builds_the_table_and_the_redrive_only_from_the_outputs_they_need() -> None:
    import boto3

    from webhook_processor.aws.bootstrap import build_operator
    from webhook_processor.aws.dynamodb import DynamoDBStore
    from webhook_processor.aws.sns import SnsSink

    operator = build_operator(
        boto3.Session(region_name="us-east-1"), table_name=None, queue_urls={}
    )
    assert operator.queues == []
    with pytest.raises(ValueError, match="the listings need the table"):
        operator.store()
    with pytest.raises(ValueError, match="a redrive needs the table, the topic and the receiver"):
        operator.redriver()
    named = build_operator(
        boto3.Session(region_name="us-east-1"),
        table_name="webhook-events-test",
        queue_urls={"receiver": "https://sqs.us-east-1.amazonaws.com/1/dlq"},
        topic_arn="arn:aws:sns:us-east-1:1:events",
        receiver_function_name="webhook-receiver-test",
    )
    assert [queue.name for queue in named.queues] == ["receiver"]
    redriver = named.redriver()
    assert isinstance(redriver.store, DynamoDBStore)
    assert redriver.store.table_name == "webhook-events-test"
    assert isinstance(redriver.sink, SnsSink)
    assert redriver.sink.topic_arn == "arn:aws:sns:us-east-1:1:events"
