"""The reconciler function's handler on the in-memory store and a fake Stripe on loopback: what
each event shape asks for, one provider's failure kept to itself, the counts it emits."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.test_lambda import Context
from tests.support.builders import NOW, stripe_event
from tests.support.events_api import FakeStripe, fake_stripe
from webhook_processor.aws import metrics
from webhook_processor.aws.bootstrap import AwsConfig, build_reconciler
from webhook_processor.aws.handlers import reconciler
from webhook_processor.errors import SecretUnavailable
from webhook_processor.model import Arrival
from webhook_processor.storage.memory import MemoryStore

PARAMETERS = {
    "stripe": "/webhook-processor/test/api-keys/stripe",
    "square": "/webhook-processor/test/api-keys/square",
}
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with fake_stripe() as fake:
        fake.events = [stripe_event("evt_lost", id="pi_lost")]
        yield fake


def _keys(stripe: FakeStripe) -> Callable[[str], str]:
    def key(provider: str) -> str:
        if provider == "square":
            raise SecretUnavailable(f"cannot read SSM parameter {PARAMETERS['square']}: denied")
        return stripe.key

    return key


def _handler(stripe: FakeStripe, store: MemoryStore, parameters: dict[str, str]) -> Any:
    config = AwsConfig(
        table_name="unused",
        api_key_parameters=json.dumps(parameters),
        api_bases={"stripe": stripe.base},
    )
    return reconciler.create_handler(
        lambda: build_reconciler(config, clock=lambda: NOW, store=store, key=_keys(stripe))
    )


def _emitted(printed: str) -> dict[tuple[str, str], int]:
    """(metric, provider) -> value, from the EMF lines printed (provider "": the stack's total)."""
    found = {}
    for line in printed.splitlines():
        if line.startswith('{"_aws"'):
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == metrics.NAMESPACE
                for metric in directive["Metrics"]:
                    value = blob[metric["Name"]]
                    total = sum(value) if isinstance(value, list) else value
                    found[metric["Name"], blob.get(metrics.PROVIDER, "")] = total
    return found


def test_a_scheduled_run_reconciles_every_provider_and_one_failure_stops_no_other(
    stripe: FakeStripe, capsys: pytest.CaptureFixture[str]
) -> None:
    store = MemoryStore()
    capsys.readouterr()
    answer = _handler(stripe, store, PARAMETERS)(SCHEDULED, Context())
    by_provider = {result["provider"]: result for result in answer["results"]}
    assert answer["failed"] == 1
    assert by_provider["stripe"]["report"]["recovered"] == 1
    assert by_provider["square"]["code"] == "secret_unavailable"
    stored = store.get_event("stripe", "evt_lost")
    assert stored is not None
    assert stored.arrival == Arrival.RECONCILIATION
    assert store.reconciled_until("stripe") == NOW
    emitted = _emitted(capsys.readouterr().out)
    assert emitted[metrics.EVENTS_RECOVERED, "stripe"] == 1
    assert emitted[metrics.RECONCILE_ERRORS, "square"] == 1
    assert (metrics.RECONCILE_ERRORS, "stripe") not in emitted
    # The stack's totals, which the alarms watch.
    assert emitted[metrics.EVENTS_RECOVERED, ""] == 1
    assert emitted[metrics.RECONCILE_ERRORS, ""] == 1
    # The key went in the Authorization header only.
    assert {auth for _, auth in stripe.requests} == {f"Bearer {stripe.key}"}
    assert all(stripe.key not in path for path, _ in stripe.requests)


def test_the_operators_dry_run_names_its_window_and_stores_nothing(
    stripe: FakeStripe, capsys: pytest.CaptureFixture[str]
) -> None:
    store = MemoryStore()
    capsys.readouterr()
    event = {"provider": "stripe", "since": "2h", "until": "2026-11-28T12:00:00Z", "dry_run": True}
    [result] = _handler(stripe, store, PARAMETERS)(event, Context())["results"]
    report = result["report"]
    assert (report["recovered"], report["dry_run"]) == (1, True)
    assert report["since"] == (NOW - timedelta(hours=2)).isoformat(timespec="microseconds")
    assert store.get_event("stripe", "evt_lost") is None
    assert store.reconciled_until("stripe") is None
    emitted = _emitted(capsys.readouterr().out)
    assert (metrics.EVENTS_RECOVERED, "stripe") not in emitted
    assert emitted[metrics.EVENTS_RECOVERED, ""] == 0


def test_an_api_failure_is_that_providers_error_with_what_was_listed(
    stripe: FakeStripe, capsys: pytest.CaptureFixture[str]
) -> None:
    stripe.failing = True
    capsys.readouterr()
    answer = _handler(stripe, MemoryStore(), {"stripe": PARAMETERS["stripe"]})(
        {"provider": "stripe"}, Context()
    )
    [result] = answer["results"]
    assert result["code"] == "provider_api_error"
    assert "answered 500" in result["error"]
    assert result["report"]["listed"] == 0
    assert _emitted(capsys.readouterr().out)[metrics.RECONCILE_ERRORS, "stripe"] == 1


@pytest.mark.parametrize(
    ("event", "code", "says"),
    [
        ({"detail": {}}, "invalid_parameter", "takes a scheduled event"),
        ({"provider": "stripe", "since": "yesterday"}, "invalid_parameter", "neither a duration"),
        ({"provider": "stripe", "dry_run": "yes"}, "invalid_parameter", "true or false"),
        ({"provider": "stripe", "since": "40d"}, "invalid_parameter", "last 30 days"),
        ({"provider": "square"}, "provider_not_configured", "apiKeys.square"),
        ({"provider": "adyen"}, "provider_not_configured", "Customer Area"),
    ],
)
def test_what_cannot_be_run_is_refused_saying_why(
    stripe: FakeStripe, event: dict[str, Any], code: str, says: str
) -> None:
    store = MemoryStore()
    answer = _handler(stripe, store, {"stripe": PARAMETERS["stripe"]})(event, Context())
    errors = [answer] if "code" in answer else answer["results"]
    assert [(e["code"], says in e["error"]) for e in errors] == [(code, True)]
    assert store.get_event("stripe", "evt_lost") is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "must be a JSON object"),
        ('{"stripe": "no-slash"}', "must be a JSON object"),
        ('{"adyen": "/p/adyen"}', "names adyen: only stripe, square"),
    ],
)
def test_a_bad_key_parameters_setting_is_refused_naming_it(text: str, says: str) -> None:
    from webhook_processor.aws.reconciler import key_parameters
    from webhook_processor.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match=re.escape(says)):
        key_parameters(text)


def test_an_unknown_provider_is_named_as_having_no_events_api(stripe: FakeStripe) -> None:
    answer = _handler(stripe, MemoryStore(), {"stripe": PARAMETERS["stripe"]})(
        {"provider": "paypal"}, Context()
    )
    [result] = answer["results"]
    assert result["code"] == "provider_not_configured"
    assert "paypal is no provider with an events API" in result["error"]


class _Parameters:
    """SsmParameters as SsmApiKeys uses it."""

    def __init__(self, value: object = None, error: Exception | None = None) -> None:
        self.value, self.error = value, error
        self.asked: list[tuple[str, int, bool]] = []

    def get(self, name: str, max_age: int, decrypt: bool) -> object:
        self.asked.append((name, max_age, decrypt))
        if self.error is not None:
            raise self.error
        return self.value


def test_api_keys_are_read_decrypted_and_cached_and_failures_name_only_the_parameter() -> None:
    from webhook_processor.aws.secrets import ParameterError, SsmApiKeys
    from webhook_processor.errors import ProviderNotConfigured

    good = _Parameters(" sk_test_1 \n")
    keys = SsmApiKeys(PARAMETERS, good, ttl_seconds=60)  # type: ignore[arg-type]
    assert keys.key("stripe") == "sk_test_1"
    assert good.asked == [(PARAMETERS["stripe"], 60, True)]
    with pytest.raises(ProviderNotConfigured):
        keys.key("adyen")
    with pytest.raises(SecretUnavailable, match="is empty"):
        SsmApiKeys(PARAMETERS, _Parameters("  ")).key("stripe")  # type: ignore[arg-type]
    denied = _Parameters(error=ParameterError("AccessDenied"))
    with pytest.raises(SecretUnavailable, match=re.escape(PARAMETERS["square"])):
        SsmApiKeys(PARAMETERS, denied).key("square")  # type: ignore[arg-type]


def test_the_reconciler_needs_its_table() -> None:
    config = AwsConfig(api_key_parameters=json.dumps({"stripe": PARAMETERS["stripe"]}))
    with pytest.raises(ValueError, match="TABLE_NAME is not set"):
        build_reconciler(config, key=lambda provider: "k")


def test_an_invocation_near_its_timeout_stops_after_the_page_in_hand_and_frees_its_provider(
    stripe: FakeStripe, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run the function's timeout cut short would hold its claim for 20 minutes: the run
    stops while the invocation can still record it, keeping what it stored."""
    store = MemoryStore()
    nearly_out = Context(remaining_millis=int(reconciler.FINISH_SECONDS * 1000) - 1)
    answer = _handler(stripe, store, {"stripe": PARAMETERS["stripe"]})(SCHEDULED, nearly_out)
    [result] = answer["results"]
    assert "time was up" in result["error"]
    assert result["report"]["recovered"] == 1  # the page in hand was stored
    assert store.get_event("stripe", "evt_lost") is not None
    assert store.reconciled_until("stripe") is None  # the window is listed again next time
    assert store.claim_reconciliation("stripe", "the next run", NOW)


@pytest.mark.parametrize(("status", "down"), [("disabled", 1), ("enabled", 0)])
def test_a_scheduled_run_asks_whether_our_endpoint_is_enabled_and_emits_it(
    stripe: FakeStripe,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    status: str,
    down: int,
) -> None:
    stripe.endpoints_per_page = 1
    stripe.endpoints = [
        {"id": "we_other", "url": "https://other.example/hooks", "status": "enabled"},
        {"id": "we_ours", "url": "https://abc.lambda-url.aws/webhooks/stripe", "status": status},
    ]
    capsys.readouterr()
    _handler(stripe, MemoryStore(), PARAMETERS)(SCHEDULED, Context())
    printed = capsys.readouterr().out
    emitted = _emitted(printed)
    assert emitted[metrics.ENDPOINT_DOWN, "stripe"] == down
    # Square's key could not be read: it was not asked, and nothing says it is up or down.
    assert (metrics.ENDPOINT_DOWN, "square") not in emitted
    assert ("webhook endpoint down" in caplog.text) is bool(down)
    listed = [p for p, _ in stripe.requests if p.startswith("/v1/webhook_endpoints")]
    assert listed == [
        "/v1/webhook_endpoints?limit=100",
        "/v1/webhook_endpoints?limit=100&starting_after=we_other",
    ]


def test_the_operators_run_does_not_ask_about_endpoints(
    stripe: FakeStripe, capsys: pytest.CaptureFixture[str]
) -> None:
    _handler(stripe, MemoryStore(), PARAMETERS)({"provider": "stripe", "since": "1h"}, Context())
    assert (metrics.ENDPOINT_DOWN, "stripe") not in _emitted(capsys.readouterr().out)
    assert not [p for p, _ in stripe.requests if p.startswith("/v1/webhook_endpoints")]
