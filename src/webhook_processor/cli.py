"""``webhook-processor``: run the local processor, send signed test events, inspect the store."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from webhook_processor.errors import WebhookError
from webhook_processor.limits import DEFAULT_MAX_BODY_BYTES
from webhook_processor.local.bootstrap import (
    DEFAULT_BASE_URL,
    INSPECTOR_TOKEN_ENV,
    SQUARE_URL_ENV,
    LocalConfig,
    build_local,
    default_data_dir,
    default_inspector_token,
    local_providers,
    local_secrets,
    open_local_store,
)
from webhook_processor.local.inspector.access import TOKEN_RULE, check_token, is_loopback
from webhook_processor.local.lock import ClaimRefused, check_port, hold_data_dir
from webhook_processor.model import utc_now
from webhook_processor.providers import default_providers
from webhook_processor.rows import (
    dead_letter_row,
    latest_events,
    latest_transactions,
    print_rows,
    print_timeline,
)
from webhook_processor.sending import SampleChoice, signed_delivery
from webhook_processor.storage.base import LocalStore

DEFAULT_URL = DEFAULT_BASE_URL
Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.command(args)
    except WebhookError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
    return result


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("webhook-processor")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _parser() -> argparse.ArgumentParser:
    providers = sorted(default_providers())
    parser = argparse.ArgumentParser(
        prog="webhook-processor",
        description="Verify, store and publish payment-provider webhooks on this machine; "
        "'aws' operates a deployed stack.",
        epilog="Run 'webhook-processor COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="where the database, secrets and events file live (default: $WEBHOOK_DATA_DIR "
        "or .data)",
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON for scripts")
    as_json.add_argument(
        "--limit", type=_positive_int, default=50, help="rows to show (default 50)"
    )

    serve = commands.add_parser(
        "serve",
        parents=[data_dir],
        help="run the processor: POST /webhooks/{provider}, GET /healthz, the inspector at /",
        description="Run the local processor. Providers: " + ", ".join(providers) + ". "
        "Secrets come from WEBHOOK_SECRET_<PROVIDER> or are generated into "
        "<data-dir>/secrets.json on first run; a value may list several active secrets, "
        "comma-separated, while one is rotated. Square signs its notification URL: "
        f"${SQUARE_URL_ENV}, or this server's own /webhooks/square.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="port (default 8080)")
    serve.add_argument(
        "--events-file", type=Path, help="JSON Lines sink (default <data-dir>/events.jsonl)"
    )
    serve.add_argument(
        "--subscriber",
        action="append",
        type=_http_url,
        default=[],
        metavar="URL",
        help="also POST each event to URL (repeatable); retried with backoff",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"larger bodies get 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    _delivery_options(serve)
    serve.add_argument(
        "--inspector-token",
        type=_inspector_token,
        default=None,
        metavar="TOKEN",
        help=f"serve the inspector page (GET /) to requests carrying TOKEN, bound anywhere; "
        f"without one it is served on a loopback address only (default ${INSPECTOR_TOKEN_ENV}; "
        f"{TOKEN_RULE})",
    )
    serve.add_argument(
        "--reconcile-every",
        type=_interval,
        default=None,
        metavar="DURATION",
        help="reconcile every provider with an events-API key (WEBHOOK_API_KEY_<PROVIDER>) this "
        "often (15m, 1h; at least 1m), from where the last run ended less 10 minutes: see "
        "'reconcile --help'",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning"],
        help="what the server logs (default info: start-up, refusals, delivery failures)",
    )
    serve.set_defaults(command=_serve)

    send = commands.add_parser(
        "send",
        parents=[data_dir],
        help="sign and POST a sample event exactly as the provider would",
        description="Build a sample event (or take --file), sign it with the provider's scheme "
        "and the secret serve uses, POST it and print the response.",
    )
    send.add_argument("provider", choices=providers)
    send.add_argument(
        "--url",
        type=_http_url,
        default=DEFAULT_URL,
        help=f"processor base URL (default {DEFAULT_URL})",
    )
    send.add_argument(
        "--amount", type=_decimal, default=Decimal("19.99"), help="major units (default 19.99)"
    )
    send.add_argument("--currency", default="USD", help="ISO 4217 code (default USD)")
    send.add_argument("--status", default="succeeded", help="payment status (default succeeded)")
    send.add_argument("--event-id", help="provider event id (default: a new random id)")
    send.add_argument(
        "--transaction",
        metavar="ID",
        help="an event of this transaction (a refund of an earlier payment, say; default: a new "
        "transaction). Try: send stripe --status refunded --transaction pi_...",
    )
    send.add_argument(
        "--refund",
        metavar="ID",
        help="the refund a refund event reports (default: a new one). Try: send stripe "
        "--status refund_failed --transaction pi_... --refund re_... to fail one sent before",
    )
    send.add_argument("--file", type=Path, help="send this file's bytes as the body instead")
    send.add_argument(
        "--items",
        type=_positive_int,
        default=1,
        help="events in one delivery, for providers that batch (adyen; default 1)",
    )
    send.set_defaults(command=_send)

    for name, handler, text in (
        (
            "transactions",
            _inspect(latest_transactions),
            "list transactions, latest update first, with where each stands",
        ),
        ("events", _inspect(latest_events), "list stored events with their delivery state"),
        ("dead-letters", _inspect(_dead_letter_rows), "list events whose delivery gave up"),
    ):
        sub = commands.add_parser(name, parents=[data_dir, as_json], help=text, description=text)
        sub.set_defaults(command=handler)

    text = "show one transaction's timeline: each event, and where it left the transaction"
    timeline = commands.add_parser(
        "transaction",
        parents=[data_dir],
        help=text,
        description=text + ", in the order the events were applied. A late event came after "
        "events that had moved the transaction past it: it is recorded and changed nothing.",
    )
    timeline.add_argument("transaction_id", metavar="ID", help="the transaction's id")
    timeline.add_argument(
        "--provider", choices=providers, help="whose transaction (when two providers share an id)"
    )
    timeline.add_argument("--json", action="store_true", help="print JSON for scripts")
    timeline.set_defaults(command=_transaction)

    redrive = commands.add_parser(
        "redrive",
        parents=[data_dir],
        help="queue dead letters for delivery again",
        description="Queue dead letters again. KEY is provider:event_id as 'dead-letters' shows.",
    )
    chosen = redrive.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--all", action="store_true", help="every dead letter")
    chosen.add_argument("keys", nargs="*", default=[], metavar="KEY", help="dead letters to queue")
    redrive.set_defaults(command=_redrive)

    from webhook_processor.local import commands as local_commands

    local_commands.add_commands(commands, data_dir, providers)

    from webhook_processor.aws import commands as aws_commands

    aws_commands.add_commands(commands)
    return parser


def _delivery_options(serve: argparse.ArgumentParser) -> None:
    """How ``serve`` delivers to its sinks, and when it says one is behind."""
    serve.add_argument(
        "--delivery-timeout",
        type=_seconds(0.1, 300),
        default=10.0,
        metavar="SECONDS",
        help="the whole of one delivery to a subscriber (connect, send, answer) within this; "
        "at most 64 KiB of an answer is read; later is a failed attempt (default 10)",
    )
    serve.add_argument(
        "--stale-after",
        type=_seconds(1, 86400),
        default=120.0,
        metavar="SECONDS",
        help="/healthz and /status report a sink whose oldest undelivered event is older "
        "than this (default 120)",
    )
    serve.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=5,
        help="delivery attempts before an event becomes a dead letter (default 5)",
    )


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _seconds(low: float, high: float) -> Callable[[str], float]:
    """A number of seconds from ``low`` to ``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of seconds from {low:g} to {high:g}"
            )
        return value

    return parse


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def _interval(text: str) -> float:
    """A duration of at least a minute (``15m``, ``1h``), in seconds."""
    from webhook_processor.errors import InvalidParameter
    from webhook_processor.reconcile.run import parse_duration

    try:
        seconds = parse_duration(text)
    except InvalidParameter as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None
    if seconds < 60:
        raise argparse.ArgumentTypeError(
            f"{text!r} is under a minute; reconcile at most once a minute"
        )
    return seconds


def _http_url(text: str) -> str:
    from webhook_processor.exchange import check_url

    try:
        return check_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _inspector_token(text: str) -> str:
    try:
        return check_token(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal amount") from None


# -- serve ------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # the server stack is only needed here

    from webhook_processor.local.http_limits import uvicorn_options
    from webhook_processor.local.server import create_app

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    token = args.inspector_token or default_inspector_token()
    if token is not None:
        try:
            check_token(token)
        except ValueError as exc:
            print(f"error: {INSPECTOR_TOKEN_ENV}: {exc}", file=sys.stderr)
            return 2
    try:
        check_port(args.host, args.port)
        held = hold_data_dir(args.data_dir)
    except ClaimRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    config = LocalConfig(
        data_dir=args.data_dir,
        events_file=args.events_file,
        subscribers=tuple(args.subscriber),
        max_body_bytes=args.max_body_bytes,
        max_attempts=args.max_attempts,
        delivery_timeout=args.delivery_timeout,
        stale_after=args.stale_after,
        base_url=f"http://{args.host}:{args.port}",
        inspector_token=token,
        reconcile_every=args.reconcile_every,
    )
    processor = build_local(config)
    generated = processor.secrets.ensure(processor.providers)
    print(f"webhook-processor on http://{args.host}:{args.port}")
    print(f"  inspector:   {_inspector_url(args.host, args.port, token)}")
    for name in processor.providers:
        print(f"  POST http://{args.host}:{args.port}/webhooks/{name}")
    print(f"  database:    {config.database}")
    print(f"  events file: {config.events_path}")
    for url in config.subscribers:
        print(f"  subscriber:  {url}")
    print(
        f"  secrets:     {config.secrets_file}"
        + (f" (generated for {', '.join(generated)})" if generated else "")
        + "; WEBHOOK_SECRET_<PROVIDER> overrides"
    )
    print(f"  square URL:  {config.square_url} (signed by Square; {SQUARE_URL_ENV} overrides)")
    if processor.reconciling is not None:
        listed = ", ".join(processor.reconciling.providers) or "no provider: none has an API key"
        print(f"  reconcile:   every {args.reconcile_every / 60:g} min: {listed}")
    print(
        f"  try:         webhook-processor send {{{','.join(processor.providers)}}} "
        f"--amount 19.99 --currency USD{_send_options(config)}",
        flush=True,
    )
    with held:
        uvicorn.run(
            create_app(processor),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            **uvicorn_options(),
        )
    return 0


def _send_options(config: LocalConfig) -> str:
    """The options ``send`` needs to reach this server, beyond its defaults."""
    options = ""
    if config.base_url != DEFAULT_BASE_URL:
        options += f" --url {config.base_url}"
    if config.data_dir != default_data_dir():
        options += f" --data-dir {config.data_dir}"
    return options


def _inspector_url(host: str, port: int, token: str | None) -> str:
    """Where a person opens the page, or why it is not served."""
    if token is not None:
        return f"http://{host}:{port}/?token=<your token> (then a cookie keeps it)"
    if is_loopback(host):
        return f"http://{host}:{port}/"
    return f"not served on {host} without --inspector-token (or {INSPECTOR_TOKEN_ENV})"


# -- send -------------------------------------------------------------------------------------


def _send(args: argparse.Namespace) -> int:
    config = LocalConfig(data_dir=args.data_dir, base_url=args.url)
    provider = local_providers(config)[args.provider]
    if args.items != 1 and not provider.batches:
        batching = ", ".join(name for name, p in local_providers(config).items() if p.batches)
        print(
            f"error: {provider.name} delivers one event per request; --items is for {batching}",
            file=sys.stderr,
        )
        return 2
    try:
        body = None if args.file is None else args.file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read --file {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    choice = SampleChoice(
        args.amount, args.currency, args.status, args.items, args.transaction, args.refund
    )
    delivery = signed_delivery(
        provider, local_secrets(config), utc_now(), choice, event_id=args.event_id, body=body
    )
    url = f"{args.url.rstrip('/')}/webhooks/{provider.name}"
    request = urllib.request.Request(  # noqa: S310
        url, data=delivery.body, headers=delivery.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    except urllib.error.URLError as exc:
        print(f"error: cannot reach {url}: {exc.reason} (is 'make run' running?)", file=sys.stderr)
        return 1
    print(f"POST {url} -> {status}")
    print(text)
    return 0 if 200 <= status < 300 else 1


# -- inspection -------------------------------------------------------------------------------


@contextlib.contextmanager
def _store(args: argparse.Namespace) -> Iterator[LocalStore]:
    store = open_local_store(LocalConfig(data_dir=args.data_dir))
    try:
        yield store
    finally:
        store.close()


def _inspect(rows: Callable[[LocalStore, int], list[dict[str, Any]]]) -> Command:
    def command(args: argparse.Namespace) -> int:
        with _store(args) as store:
            return print_rows(rows(store, args.limit), args.json)

    return command


def _transaction(args: argparse.Namespace) -> int:
    with _store(args) as store:
        return print_timeline(store, args.transaction_id, args.provider, args.json)


def _dead_letter_rows(store: LocalStore, limit: int) -> list[dict[str, Any]]:
    return [dead_letter_row(d) for d in store.dead_letter_page(None, limit).items]


def _redrive(args: argparse.Namespace) -> int:
    with _store(args) as store:
        queued = store.redrive(None if args.all else args.keys, utc_now())
    unknown = sorted(set(args.keys) - set(queued))
    for key in queued:
        print(f"queued {key}")
    for key in unknown:
        print(f"not a dead letter: {key}", file=sys.stderr)
    if not queued and not unknown:
        print("no dead letters")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
