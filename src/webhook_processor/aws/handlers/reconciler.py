"""The reconciler function: recovers the events a provider's events API lists and the table
lacks, through the :class:`~webhook_processor.aws.reconciler.Reconciliation` bootstrap builds.

Two shapes of event arrive here:

* the stack's EventBridge schedule (``"source": "aws.events"``): every provider with a key,
  each from its high-water mark in the table;
* the operator's ``webhook-processor aws reconcile`` (a synchronous invocation):
  ``{"provider": "stripe", "since": "2h", "until": "...", "dry_run": true}``, ``since`` and
  ``until`` as ``reconcile``'s options take them.

Each provider runs on its own: one's failure is its own entry in the answer
(``{"results": [{"provider", "report"} | {"provider", "error", "code", "report"?}]}``) and
does not stop the others. The function does not raise for a failed provider: the next scheduled
run lists the same window again (its mark did not move), so a Lambda retry would only repeat
the providers that succeeded. Failures are counted instead (``ReconcileErrors``, by provider)
and logged, and an alarm watches the stack's total; Lambda's ``Errors`` is left to crashes and
timeouts. What is stored is published by the table's stream, as a delivered webhook is.

A scheduled run then asks each provider whether our webhook endpoint is still there and enabled
(:mod:`webhook_processor.reconcile.endpoints`) and emits ``EndpointDown`` for it, which the
provider's endpoint alarm watches.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_processor.aws import metrics as names
from webhook_processor.aws.bootstrap import AwsConfig, build_reconciler
from webhook_processor.aws.handlers.observability import (
    Handler,
    annotate,
    built_once,
    instrument,
    logger,
    metrics,
    traced_session,
)
from webhook_processor.errors import (
    InvalidParameter,
    ProviderNotConfigured,
    RequestRejected,
    WebhookError,
)
from webhook_processor.reconcile.endpoints import EndpointState
from webhook_processor.reconcile.run import ReconcileBusy, ReconcileFailed, parse_moment
from webhook_processor.storage.journal import Listing

if TYPE_CHECKING:
    from webhook_processor.aws.reconciler import Reconciliation

#: The ``source`` of EventBridge's scheduled events.
SCHEDULED: Final = "aws.events"


@dataclass(frozen=True)
class Run:
    """One provider's reconciliation, as the event asks for it."""

    provider: str
    since: datetime | None = None
    until: datetime | None = None
    dry_run: bool = False


def create_handler(build: Callable[[], Reconciliation]) -> Handler:
    """The handler over the reconciliation ``build`` makes on the first invocation; the
    container reuses it. The deployed function is ``handler`` below; tests pass their own."""
    reconciliation = built_once(build)

    @instrument
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        parts = reconciliation()
        try:
            runs = requested(event, parts)
        except RequestRejected as error:
            logger.error(
                "bad reconcile request", extra={"code": error.code, "detail": error.detail}
            )
            _totals(0, 0)
            return {"results": [], "error": error.detail, "code": error.code}
        outcomes = [_run(parts, run, _time_left(context)) for run in runs]
        if event.get("source") == SCHEDULED:
            for run in runs:
                _check_endpoints(parts, run.provider)
        failed = sum(1 for o in outcomes if o.failed)
        _totals(sum(o.recovered for o in outcomes), failed)
        results = [o.answer for o in outcomes]
        return {"results": results, "failed": sum(1 for r in results if "error" in r)}

    return handler


def requested(event: dict[str, Any], parts: Reconciliation) -> list[Run]:
    """What ``event`` asks for: every provider with a key from its mark (the schedule), or one
    provider's window (the operator's command)."""
    if event.get("source") == SCHEDULED:
        return [Run(provider) for provider in parts.providers]
    provider = event.get("provider")
    if not isinstance(provider, str) or not provider:
        raise InvalidParameter(
            'the reconciler takes a scheduled event or {"provider": ..., "since": ..., '
            '"until": ..., "dry_run": ...}'
        )
    now = parts.clock()
    moments: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        value = event.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidParameter(f"{name} must be text (72h, 2026-12-01T08:00:00Z)")
        moments[name] = None if value is None else parse_moment(value, now, f"--{name}")
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidParameter("dry_run must be true or false")
    return [Run(provider, moments["since"], moments["until"], dry_run)]


@dataclass(frozen=True)
class Outcome:
    """One provider's entry in the answer, and what it adds to the totals."""

    answer: dict[str, Any]
    recovered: int = 0
    failed: bool = False


#: What a run leaves of the invocation's time, to record itself and release its claim: a run
#: the timeout cut short would hold its provider until the claim expired.
FINISH_SECONDS = 20.0


def _time_left(context: LambdaContext) -> Callable[[], float]:
    return lambda: context.get_remaining_time_in_millis() / 1000 - FINISH_SECONDS


def _run(parts: Reconciliation, run: Run, time_left: Callable[[], float]) -> Outcome:
    """One provider's run, its counts emitted; an error is its entry in the answer."""
    provider = run.provider
    try:
        report = parts.run(provider, run.since, run.until, dry_run=run.dry_run, seconds=time_left())
    except ReconcileFailed as failed:
        recovered = failed.report.count(Listing.RECOVERED)
        _count(provider, names.EVENTS_RECOVERED, recovered)
        _failed(provider, failed)
        answer = {**_error(provider, failed), "report": failed.report.as_json()}
        return Outcome(answer, recovered, failed=True)
    except (ReconcileBusy, ProviderNotConfigured, RequestRejected) as refused:
        # Another run has it, or the request cannot be served: nothing failed, nothing to count.
        logger.warning(
            "reconciliation not run",
            extra={"provider": provider, "code": refused.code, "detail": refused.detail},
        )
        return Outcome(_error(provider, refused))
    except WebhookError as error:  # the table, the key's parameter
        _failed(provider, error)
        return Outcome(_error(provider, error), failed=True)
    summary = report.as_json()
    logger.info("reconciled", extra=summary)
    if run.dry_run:
        return Outcome({"provider": provider, "report": summary})
    recovered = report.count(Listing.RECOVERED)
    _count(provider, names.EVENTS_RECOVERED, recovered)
    return Outcome({"provider": provider, "report": summary}, recovered)


def _check_endpoints(parts: Reconciliation, provider: str) -> None:
    """Ask the provider whether our endpoint is enabled: ``EndpointDown`` 1 or 0, which its
    alarm watches; nothing when it could not be asked (the reconciliation's alarms say why)."""
    check = parts.endpoints(provider)
    extra = {"provider": provider, "endpoint": check.state.value, "detail": check.detail}
    if check.down:
        logger.error("webhook endpoint down", extra=extra)
    else:
        logger.info("webhook endpoint checked", extra=extra)
    if check.state is not EndpointState.UNKNOWN:
        _count(provider, names.ENDPOINT_DOWN, int(check.down))


def _error(provider: str, error: WebhookError) -> dict[str, Any]:
    return {"provider": provider, "error": error.detail, "code": error.code}


def _failed(provider: str, error: WebhookError) -> None:
    _count(provider, names.RECONCILE_ERRORS, 1)
    logger.error(
        "reconciliation failed",
        extra={"provider": provider, "code": error.code, "detail": error.detail},
    )


def _totals(recovered: int, failed: int) -> None:
    """The invocation's totals, in the stack's series (``service`` alone): what the alarms
    watch, whichever providers ran. Each provider's own series says which."""
    metrics.add_metric(name=names.EVENTS_RECOVERED, unit=MetricUnit.Count, value=recovered)
    annotate(**{"reconcile.recovered": recovered, "reconcile.failed": failed})
    metrics.add_metric(name=names.RECONCILE_ERRORS, unit=MetricUnit.Count, value=failed)


def _count(provider: str, metric: str, value: int) -> None:
    with single_metric(
        name=metric, unit=MetricUnit.Count, value=value, namespace=names.NAMESPACE
    ) as emitted:
        emitted.add_dimension(name=names.PROVIDER, value=provider)


handler = create_handler(
    lambda: build_reconciler(AwsConfig.from_environ(os.environ), traced_session())
)
