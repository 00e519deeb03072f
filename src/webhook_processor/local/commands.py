"""``reconcile``, ``completeness`` and ``status``: recovering, on one machine, what never
arrived, and knowing when a provider goes quiet.

``reconcile PROVIDER`` lists the provider's events in a window and stores what the database
lacks, marked as recovered; whether or not ``serve`` runs on the data directory, nothing is
published here: a running server's dispatcher publishes what was stored within a second or two,
and otherwise the next ``serve`` does. ``completeness`` counts, per provider and day, what came
by webhook, what was recovered, and what the provider listed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from webhook_processor import codec
from webhook_processor.errors import (
    InvalidParameter,
    ProviderNotConfigured,
    ServiceUnavailable,
    WebhookError,
)
from webhook_processor.local.bootstrap import LocalConfig, local_providers, local_secrets
from webhook_processor.local.lock import server_holds
from webhook_processor.local.volume import ProviderStatus
from webhook_processor.model import utc_now
from webhook_processor.reconcile.apis import DEFAULT_BASES
from webhook_processor.reconcile.completeness import completeness
from webhook_processor.reconcile.run import (
    DEFAULT_SINCE,
    ReconcileFailed,
    check_window,
    parse_moment,
)
from webhook_processor.rows import print_rows
from webhook_processor.storage.journal import Listing, Report

#: Where a person reads what to do when webhooks were missed.
RUNBOOK = "docs/reconcile.md, 'We missed webhooks'"


def add_commands(commands: Any, data_dir: argparse.ArgumentParser, providers: list[str]) -> None:
    """Add ``reconcile``, ``completeness`` and ``status`` to the CLI's subcommands."""
    listable = ", ".join(sorted(DEFAULT_BASES))
    reconcile = commands.add_parser(
        "reconcile",
        parents=[data_dir],
        help="recover events the provider never delivered, from its events API",
        description=f"List PROVIDER's events ({listable}) created in a window and store each "
        "payment event the database lacks, exactly as if its webhook had been delivered, "
        "marked as recovered: a later delivery of it is a duplicate. Works whether or not "
        "'serve' runs on the data directory; what is stored is published by serve's "
        "dispatcher (within seconds if it runs, else at the next serve). The API key comes "
        "from WEBHOOK_API_KEY_<PROVIDER> (a Stripe secret or restricted key that can read "
        "events; a Square personal access token) or <data-dir>/secrets.json "
        '{"api_keys": {"stripe": "..."}}; WEBHOOK_API_BASE_<PROVIDER> sets the API root '
        "(https, or http to a loopback emulator). The key is never printed or logged.",
        epilog="Exit status: 0 it ran; 1 the provider's API failed (what was stored before "
        "stays), or another run holds the provider; 2 bad input or configuration. Adyen and "
        "generic senders have no events API: "
        f"see {RUNBOOK}.",
    )
    reconcile.add_argument("provider", choices=providers)
    reconcile.add_argument(
        "--since",
        default=f"{int(DEFAULT_SINCE.total_seconds()) // 3600}h",
        metavar="WHEN",
        help="from a duration ago (72h, 15m, 7d) or an ISO 8601 time (2026-12-01T08:00:00Z); "
        "default 72h, as far back as providers retry; at most 30 days (Stripe), 28 (Square)",
    )
    reconcile.add_argument("--until", metavar="WHEN", help="to (default: now); same forms")
    reconcile.add_argument(
        "--dry-run", action="store_true", help="count what would be recovered; store nothing"
    )
    reconcile.add_argument(
        "--enable",
        action="store_true",
        help="square: turn the Events API on first (EnableEvents); Square keeps events only "
        "from then on",
    )
    reconcile.add_argument("--json", action="store_true", help="print one JSON object")
    reconcile.set_defaults(command=_reconcile)

    report = commands.add_parser(
        "completeness",
        parents=[data_dir],
        help="per provider and day: delivered, recovered, ignored, and what the provider listed",
        description="Did we get everything? For each provider and UTC day (by the provider's "
        "time): events delivered by webhook, events recovered by reconciliation, listed events "
        "of types not normalised (ignored) or unreadable, what the provider's API listed, and "
        "how much of the day reconciliations covered (whole, part, never). A day never "
        "reconciled is not known to be complete.",
    )
    report.add_argument(
        "--since", default="7d", metavar="WHEN", help="from (default 7d); as for reconcile"
    )
    report.add_argument("--json", action="store_true", help="print JSON for scripts")
    report.set_defaults(command=_completeness)

    status = commands.add_parser(
        "status",
        parents=[data_dir],
        help="is each provider still sending? its recent deliveries against its usual week, "
        "and what the provider says of our endpoint",
        description="For each provider counted by 'serve' (verified deliveries, by 5 minutes): "
        "deliveries in the recent window, the usual count (the median of the same window of "
        "the week over the previous 3 weeks) and the verdict: ok; quiet (below 0.2 of the "
        "usual: look now); learning (less than 22 days of counts yet); sparse (too few "
        "deliveries for silence to mean anything). With an events-API key "
        "(WEBHOOK_API_KEY_<PROVIDER>, as for reconcile), the provider is asked whether an "
        "endpoint pointing at /webhooks/<provider> exists and is enabled. The counts are what "
        "the server wrote, at most 10 s ago.",
        epilog="Exit status: 0 nothing needs a person; 1 a provider is quiet, or its endpoint "
        "is disabled or missing; 2 bad input or no database. What to do: docs/status.md.",
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(command=_status)


def _reconcile(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    from webhook_processor.local.reconciling import build_reconciler, event_api
    from webhook_processor.local.sqlite.store import SQLiteStore
    from webhook_processor.reconcile.run import no_source
    from webhook_processor.storage.base import LocalStore
    from webhook_processor.storage.memory import MemoryStore

    environ = os.environ if environ is None else environ
    config = LocalConfig(data_dir=args.data_dir)
    now = utc_now()
    since = parse_moment(args.since, now, "--since")
    until = None if args.until is None else parse_moment(args.until, now, "--until")
    secrets = local_secrets(config, environ)
    api = event_api(args.provider, secrets, environ)
    if api is None:
        raise ProviderNotConfigured(no_source(args.provider))
    check_window(api, since, until, now)  # before anything is opened or asked
    if args.enable and args.dry_run:
        raise InvalidParameter("--enable changes Square's settings: run it without --dry-run")
    if args.enable:
        enable = getattr(api, "enable", None)
        if enable is None:
            raise ProviderNotConfigured(f"--enable is for square; {args.provider} lists events")
        try:
            enable()
        except ServiceUnavailable as failed:
            return _failed(failed, None, args.json)
        print(f"{args.provider}: the Events API is enabled; it keeps events from now on")
    # A dry run writes nothing: without a database there is nothing stored to compare with.
    store: LocalStore = (
        MemoryStore()
        if args.dry_run and not config.database.exists()
        else SQLiteStore(config.database)
    )
    try:
        reconciler = build_reconciler(
            local_providers(config), secrets, store, environ, only=args.provider
        )
        try:
            report = reconciler.run(args.provider, since, until, dry_run=args.dry_run)
        except ReconcileFailed as failed:
            return _failed(failed, failed.report, args.json)
        except ProviderNotConfigured:
            raise
        except ServiceUnavailable as failed:
            return _failed(failed, None, args.json)
        serving = server_holds(args.data_dir)
    finally:
        store.close()
    if args.json:
        print(codec.dumps(report.as_json()))
    else:
        print(_summary(report, serving))
    return 0


def _failed(error: WebhookError, report: Report | None, as_json: bool) -> int:
    print(f"error: {error.detail}", file=sys.stderr)
    if as_json and report is not None:
        print(codec.dumps({**report.as_json(), "error": error.detail}))
    return 1


def _summary(report: Report, serving: bool) -> str:
    window = report.as_json()
    recovered = report.count(Listing.RECOVERED)
    verb = "would recover" if report.dry_run else "recovered"
    lines = [
        f"{report.provider}: listed {len(report.listings)} events from {window['since']} to "
        f"{window['until']}: {verb} {recovered}, already stored "
        f"{report.count(Listing.ALREADY_STORED)}, ignored {report.count(Listing.IGNORED)}"
        + (
            f", unreadable {report.count(Listing.UNREADABLE)} (logged)"
            if report.count(Listing.UNREADABLE)
            else ""
        )
    ]
    if recovered and not report.dry_run:
        lines.append(
            "  published by the running server's dispatcher"
            if serving
            else "  published when 'webhook-processor serve' next runs on this data directory"
        )
        lines.append(f"  webhooks were missed: see {RUNBOOK}")
    if report.provider == "square" and not report.listings:
        lines.append(
            "  Square lists only events created while its Events API is enabled; if it is "
            "off, run: webhook-processor reconcile square --enable"
        )
    return "\n".join(lines)


def _status(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    from webhook_processor.local.bootstrap import open_local_store
    from webhook_processor.local.volume import (
        ask_endpoints,
        history_start,
        lane_statuses,
        status_document,
        statuses,
    )

    environ = os.environ if environ is None else environ
    config = LocalConfig(data_dir=args.data_dir)
    now = utc_now()
    store = open_local_store(config)
    try:
        histories = store.delivery_histories(history_start(now))
        backlogs = store.backlogs()
    finally:
        store.close()
    lanes = lane_statuses(sorted(backlogs), backlogs, now)
    endpoints = ask_endpoints(local_secrets(config, environ), environ)
    if args.json:
        document = status_document(histories, endpoints, now, lanes=lanes)
        print(codec.dumps(document))
        return 1 if document["status"] != "ok" else 0
    found = statuses(histories, endpoints, now)
    rows = [
        {
            "provider": s.provider,
            "verdict": s.assessment.verdict.value,
            "recent": s.assessment.recent,
            "usual": "" if s.assessment.usual is None else f"{s.assessment.usual:g}",
            "window": "" if s.assessment.window is None else _minutes(s.assessment.window),
            "endpoint": s.endpoint.state.value,
            "detail": _status_detail(s),
        }
        for s in found
    ]
    print_rows(rows, False)
    attention = [s.provider for s in found if s.needs_attention]
    for lane in lanes:
        print(
            f"sink {lane.sink}: {lane.pending} pending, {lane.dead} dead letters, the oldest "
            f"received {lane.age:.0f} s ago" + (" (behind)" if lane.stale else "")
        )
    attention += [lane.sink for lane in lanes if lane.stale]
    if attention:
        print(f"needs a person: {', '.join(attention)}; see docs/status.md", file=sys.stderr)
    return 1 if attention else 0


def _minutes(window: timedelta) -> str:
    minutes = int(window.total_seconds()) // 60
    return f"{minutes // 60}h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes}m"


def _status_detail(status: ProviderStatus) -> str:
    assessment = status.assessment
    if assessment.ready_at is not None:
        return f"verdicts from {assessment.ready_at:%Y-%m-%d %H:%M} UTC; {status.endpoint.detail}"
    return status.endpoint.detail


def _completeness(args: argparse.Namespace) -> int:
    from webhook_processor.local.bootstrap import open_local_store

    config = LocalConfig(data_dir=args.data_dir)
    now = utc_now()
    since = parse_moment(args.since, now, "--since")
    if since > now or now - since > timedelta(days=366):
        raise InvalidParameter(f"--since {args.since!r} must be within the past year")
    from webhook_processor.local.reconciling import listable

    with_api = listable(local_secrets(config), os.environ)
    store = open_local_store(config)
    try:
        rows = completeness(store, since, now, listable=with_api)
    finally:
        store.close()
    return print_rows([row.as_json() for row in rows], args.json)
