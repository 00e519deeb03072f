"""``webhook-processor aws ...``: operate a deployed stack from a shell.

The same verbs as the local processor's, on the stack's resources: ``dead-letters`` (both
failure queues, decoded), ``redrive`` (:mod:`webhook_processor.aws.failure_queues`), ``events``,
``transactions`` and ``transaction`` (the table's listings, through the same listing API and
row builders as the local commands, so both print the same columns). The stack's adapters are
built by :func:`webhook_processor.aws.bootstrap.build_operator`. Where the stack is comes from
``pulumi stack output --json`` (``--stack-outputs FILE``) or flags; the credentials are the
caller's, as the AWS CLI finds them.

boto3 is imported by these commands only, when one runs: the local install (no ``aws`` extra)
lists them in ``--help`` and says what to install when one is used.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from webhook_processor.rows import (
    event_rows,
    latest_events,
    latest_transactions,
    print_rows,
    print_timeline,
)

if TYPE_CHECKING:
    import boto3

    from webhook_processor.aws.bootstrap import Operator
    from webhook_processor.aws.failure_queues import QueuedFailure

MISSING_EXTRA: Final = (
    "the aws commands need boto3: install the aws extra "
    "(pip install 'webhook-processor[aws]', or make .venv/.dev in a checkout)"
)
#: Long-polling wait of each receive: SQS answers at once when messages are there, and an empty
#: answer after the wait means the queue is empty.
RECEIVE_WAIT_SECONDS = 1
#: How long a message being redriven is hidden from other readers (a receiver invocation takes
#: at most the function's 60 s).
REDRIVE_HOLD_SECONDS: Final = 300
LIST_HOLD_SECONDS: Final = 30
Command = Callable[[argparse.Namespace], int]


class OperatorError(Exception):
    """A bad input or a missing setting: printed as one line, exit status 2."""


@dataclass(frozen=True)
class StackOutputs:
    """What the commands need of the stack, named as ``pulumi stack output`` names it."""

    table_name: str | None = None
    topic_arn: str | None = None
    dlq_url: str | None = None
    publish_failures_url: str | None = None
    receiver_function_name: str | None = None
    reconciler_function_name: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> StackOutputs:
        found: dict[str, Any] = {}
        if args.stack_outputs is not None:
            try:
                found = json.loads(Path(args.stack_outputs).read_text())
            except (OSError, ValueError) as exc:
                raise OperatorError(
                    f"cannot read --stack-outputs {args.stack_outputs}: {exc}"
                ) from None
            if not isinstance(found, dict):
                raise OperatorError("--stack-outputs must hold 'pulumi stack output --json'")
        values = {f.name: getattr(args, f.name, None) or found.get(f.name) for f in fields(cls)}
        return cls(**{name: None if v is None else str(v) for name, v in values.items()})

    def need(self, *names: str) -> list[str]:
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            flags = ", ".join("--" + name.replace("_", "-") for name in missing)
            raise OperatorError(
                f"the stack's {', '.join(missing)} is not known: pass --stack-outputs FILE "
                f"(pulumi stack output --json > FILE) or {flags}"
            )
        return [str(getattr(self, name)) for name in names]

    @property
    def region(self) -> str | None:
        """The region the ARNs and URLs name (``arn:aws:sns:eu-west-1:...``)."""
        if self.topic_arn and self.topic_arn.count(":") >= 4:
            return self.topic_arn.split(":")[3]
        for url in (self.dlq_url, self.publish_failures_url):
            if url and url.startswith("https://sqs."):
                return url.removeprefix("https://sqs.").split(".", 1)[0]
        return None


def add_commands(commands: Any) -> None:
    """Add ``aws`` and its commands to the CLI's subcommands."""
    aws = commands.add_parser(
        "aws",
        help="operate a deployed stack: its failure queues, their redrive, its table",
        description="Operate the stack the Pulumi program in infra/ deployed, with your AWS "
        "credentials (AWS_PROFILE, --profile, ...; the README lists the operator policy). Tell "
        "it where the stack is with --stack-outputs FILE, FILE being the output of 'pulumi "
        "stack output --json' in infra/, or with the flags of each command.",
        epilog="Run 'webhook-processor aws COMMAND --help' for a command's options.",
    )
    sub = aws.add_subparsers(title="commands", required=True, metavar="COMMAND")
    stack = argparse.ArgumentParser(add_help=False)
    where = stack.add_argument_group("where the stack is")
    where.add_argument("--stack-outputs", metavar="FILE", help="pulumi stack output --json")
    where.add_argument(
        "--region", help="AWS region (default: the stack's, as its outputs name it; else yours)"
    )
    where.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or default)")
    for name, what in (
        ("table-name", "the table (output table_name)"),
        ("topic-arn", "the events topic (output topic_arn)"),
        ("dlq-url", "the receiver's dead-letter queue (output dlq_url)"),
        ("publish-failures-url", "the publish-failures queue (output publish_failures_url)"),
        ("receiver-function-name", "the receiver (output receiver_function_name)"),
        ("reconciler-function-name", "the reconciler (output reconciler_function_name)"),
    ):
        where.add_argument(f"--{name}", help=what)
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    listing.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
    queues = argparse.ArgumentParser(add_help=False)
    queues.add_argument(
        "--queue",
        choices=["receiver", "publisher", "both"],
        default="both",
        help="the receiver's dead-letter queue, the publish-failures queue, or both (default)",
    )

    text = "list both failure queues: what failed (provider, event id, amount) and why"
    letters = sub.add_parser(
        "dead-letters", parents=[stack, listing, queues], help=text, description=text + "."
    )
    letters.set_defaults(command=_guarded(_dead_letters))
    redrive = sub.add_parser(
        "redrive",
        parents=[stack, queues],
        help="redrive both failure queues; a message is deleted only once its redrive worked",
        description="Invoke the receiver again with each failed payload of its dead-letter "
        "queue; publish each event of the publish-failures queue again, from the table, "
        "exactly once. A message whose redrive fails stays in its queue, with its error.",
    )
    redrive.add_argument(
        "--dry-run", action="store_true", help="show what would be redriven; change nothing"
    )
    redrive.add_argument("--limit", type=int, help="redrive at most this many messages")
    redrive.set_defaults(command=_guarded(_redrive))
    text = "list stored events, newest first, or one transaction's, oldest first"
    events = sub.add_parser("events", parents=[stack, listing], help=text, description=text)
    events.add_argument("--transaction", metavar="ID", help="only this transaction's events")
    events.set_defaults(command=_guarded(_events))
    text = "list transactions, latest update first"
    txns = sub.add_parser("transactions", parents=[stack, listing], help=text, description=text)
    txns.set_defaults(command=_guarded(_transactions))
    text = "show one transaction's timeline, as the local 'transaction' command does"
    timeline = sub.add_parser("transaction", parents=[stack], help=text, description=text)
    timeline.add_argument("transaction_id", metavar="ID", help="the transaction's id")
    timeline.add_argument("--provider", help="whose transaction (when two providers share an id)")
    timeline.add_argument("--json", action="store_true", help="print JSON for scripts")
    timeline.set_defaults(command=_guarded(_transaction))
    text = "recover the webhooks a provider's events API lists and the table lacks"
    reconcile = sub.add_parser(
        "reconcile",
        parents=[stack],
        help=text,
        description=text + ": invokes the stack's reconciler function (made when apiKeys "
        "holds the provider's key) and waits for its report. What it stores is published as "
        "any stored event; a webhook that arrives later is a duplicate.",
    )
    reconcile.add_argument("provider", help="stripe or square")
    reconcile.add_argument(
        "--since", help="from (72h, 15m, 7d, or ISO 8601; default: the high-water mark)"
    )
    reconcile.add_argument("--until", help="to (same forms; default: now)")
    reconcile.add_argument("--dry-run", action="store_true", help="list and count; store nothing")
    reconcile.add_argument("--json", action="store_true", help="print JSON for scripts")
    reconcile.set_defaults(command=_guarded(_reconcile))


def _guarded(command: Command) -> Command:
    """Bad inputs and AWS's refusals as one line on stderr, not a traceback."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            import boto3  # noqa: F401  (present only with the aws extra)
        except ImportError:
            print(f"error: {MISSING_EXTRA}", file=sys.stderr)
            return 2
        try:
            return command(args)
        except OperatorError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except Exception as error:
            from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

            if isinstance(error, NoRegionError):  # nothing was asked of AWS yet
                print(
                    "error: no AWS region: pass --stack-outputs FILE (pulumi stack output "
                    "--json > FILE; its ARNs name the region) or --region",
                    file=sys.stderr,
                )
                return 2
            if isinstance(error, ClientError | BotoCoreError):
                print(f"error: AWS refused: {error}", file=sys.stderr)
                return 1
            raise

    return run


def session(args: argparse.Namespace, outputs: StackOutputs) -> boto3.Session:
    """The caller's AWS session, in the stack's region unless ``--region`` says otherwise: the
    caller's own default region may well not be the stack's."""
    import boto3

    return boto3.Session(profile_name=args.profile, region_name=args.region or outputs.region)


def _operator(args: argparse.Namespace, *needs: str) -> Operator:
    """The stack as the command needs it: the outputs in ``needs`` must be known, and the
    failure queues ``--queue`` names when the command has that option."""
    from webhook_processor.aws.bootstrap import build_operator
    from webhook_processor.aws.failure_queues import PUBLISHER, RECEIVER

    outputs = StackOutputs.from_args(args)
    outputs.need(*needs)
    wanted = {"receiver": [RECEIVER], "publisher": [PUBLISHER], "both": [RECEIVER, PUBLISHER]}
    urls = {RECEIVER: "dlq_url", PUBLISHER: "publish_failures_url"}
    chosen = wanted[args.queue] if hasattr(args, "queue") else []
    queues = {name: outputs.need(urls[name])[0] for name in chosen}
    return build_operator(
        session(args, outputs),
        table_name=outputs.table_name,
        queue_urls=queues,
        topic_arn=outputs.topic_arn,
        receiver_function_name=outputs.receiver_function_name,
        receive_wait_seconds=RECEIVE_WAIT_SECONDS,
    )


#: The columns of ``aws dead-letters``, as the decoded message names them.
LETTER_COLUMNS: Final = ("queue", "kind", "provider", "event_id", "amount", "currency")


def letter_row(letter: QueuedFailure) -> dict[str, Any]:
    """One line of ``aws dead-letters``."""
    sent_at = None if letter.sent_at is None else letter.sent_at.isoformat()
    row = {name: getattr(letter, name) for name in LETTER_COLUMNS}
    return {**row, "sent_at": sent_at, "error": letter.error}


def _dead_letters(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for queue in _operator(args).queues:
        for letter in queue.messages(args.limit - len(rows), LIST_HOLD_SECONDS):
            queue.keep(letter)  # listing consumes nothing
            rows.append(letter_row(letter))
    return print_rows(rows, args.json)


def _redrive(args: argparse.Namespace) -> int:
    from webhook_processor.aws.failure_queues import RedriveFailed

    operator = _operator(args, "table_name", "topic_arn", "receiver_function_name")
    redriver = operator.redriver()
    progress = Progress(sum(queue.depth() for queue in operator.queues), sys.stderr)
    done = kept = 0
    for queue in operator.queues:
        for letter in queue.messages(args.limit and args.limit - done - kept, REDRIVE_HOLD_SECONDS):
            what = f"{letter.queue} {letter.kind} {letter.provider or '-'}:{letter.event_id or '-'}"
            if args.dry_run:
                queue.keep(letter)
                progress.say(f"would redrive {what} (failed: {letter.error})")
                done += 1
            else:
                try:
                    outcome = redriver.redrive(letter)
                except RedriveFailed as failure:
                    queue.keep(letter)
                    progress.say(f"kept {what}: {failure}")
                    kept += 1
                else:
                    queue.delete(letter)
                    progress.say(f"redrove {what}: {outcome}")
                    done += 1
            progress.step()
    progress.finish()
    verb = "would redrive" if args.dry_run else "redrove"
    print(f"{verb} {done}, kept {kept}")
    return 1 if kept else 0


def _events(args: argparse.Namespace) -> int:
    store = _operator(args, "table_name").store()
    if args.transaction is None:
        return print_rows(latest_events(store, args.limit), args.json)
    return print_rows(
        event_rows(store, store.timeline(None, args.transaction, args.limit)), args.json
    )


def _transactions(args: argparse.Namespace) -> int:
    return print_rows(
        latest_transactions(_operator(args, "table_name").store(), args.limit), args.json
    )


def _transaction(args: argparse.Namespace) -> int:
    store = _operator(args, "table_name").store()
    return print_timeline(store, args.transaction_id, args.provider, args.json)


#: The report's fields ``aws reconcile --json`` prints.
RECONCILE_FIELDS: Final = (
    "provider",
    "since",
    "until",
    "listed",
    "recovered",
    "already_stored",
    "ignored",
)
#: The reconciler's error codes that are the caller's to fix (exit status 2, as bad input).
BAD_REQUEST_CODES: Final = frozenset({"invalid_parameter", "provider_not_configured"})


def _reconcile(args: argparse.Namespace) -> int:
    outputs = StackOutputs.from_args(args)
    if not outputs.reconciler_function_name:
        raise OperatorError(
            "the stack has no reconciler (its outputs name no reconciler_function_name): give "
            f"it the provider's events-API key, pulumi config set --secret --path "
            f"'apiKeys.{args.provider}' <key> in infra/, then pulumi up and pulumi stack output "
            "--json again (docs/deploy.md, 'Recovering missed webhooks')"
        )
    payload: dict[str, Any] = {"provider": args.provider, "dry_run": bool(args.dry_run)}
    payload |= {name: getattr(args, name) for name in ("since", "until") if getattr(args, name)}
    from webhook_processor.aws.bootstrap import operator_client_config

    client = session(args, outputs).client("lambda", config=operator_client_config(invokes=True))
    answer = client.invoke(
        FunctionName=outputs.reconciler_function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(payload).encode(),
    )
    document = json.loads(answer["Payload"].read() or b"{}")
    if "FunctionError" in answer:
        print(
            f"error: the reconciler failed: {document.get('errorMessage', document)}",
            file=sys.stderr,
        )
        return 1
    if "code" in document:  # the request itself was refused
        print(f"error: {document.get('error')}", file=sys.stderr)
        return 2
    [result] = document.get("results") or [{"error": "the reconciler answered no result"}]
    report = result.get("report")
    if report is not None:
        _print_report(report, args.json)
    if "error" in result:
        print(f"error: {result['error']}", file=sys.stderr)
        return 2 if result.get("code") in BAD_REQUEST_CODES else 1
    return 0


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps({name: report.get(name) for name in RECONCILE_FIELDS}))
        return
    verb = "would recover" if report.get("dry_run") else "recovered"
    print(
        f"{report['provider']} {report['since']} .. {report['until']}: listed "
        f"{report['listed']}, {verb} {report['recovered']}, already stored "
        f"{report['already_stored']}, ignored {report['ignored']}"
        + (f", unreadable {report['unreadable']}" if report.get("unreadable") else "")
    )


class Progress:
    """What a long redrive has done: each message's line, and on a terminal a bar below."""

    WIDTH: Final = 30

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.done, self.out = total, 0, out
        self.bar = out.isatty()

    def say(self, line: str) -> None:
        self._clear()
        print(line, file=sys.stdout, flush=True)

    def step(self) -> None:
        self.done += 1
        if self.bar:
            total = max(self.total, self.done)
            filled = self.WIDTH * self.done // total
            self.out.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{total}")
            self.out.flush()

    def finish(self) -> None:
        self._clear()

    def _clear(self) -> None:
        if self.bar:
            self.out.write("\r" + " " * (self.WIDTH + 24) + "\r")
