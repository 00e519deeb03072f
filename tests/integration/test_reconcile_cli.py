"""``webhook-processor reconcile`` and ``completeness`` as a person runs them: Square against
the fake of its Events API on loopback, and every bad input refused with its exit status and a
message that says what to do (and never the key)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.square_events import SquareEventsFake, serving
from webhook_processor.cli import main
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.model import Arrival
from webhook_processor.providers.base import Sample
from webhook_processor.providers.square import SquareProvider

TOKEN = "EAAAl-square-personal-access-token"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    assert "sk_test_never_shown" not in out + err
    return code, out, err


@pytest.fixture
def fake() -> SquareEventsFake:
    return SquareEventsFake(TOKEN, page_sizes=(2, 1, 3))


@pytest.fixture
def square(fake: SquareEventsFake, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with serving(fake) as base:
        monkeypatch.setenv("WEBHOOK_API_KEY_SQUARE", TOKEN)
        monkeypatch.setenv("WEBHOOK_API_BASE_SQUARE", base)
        yield base


def _payment(name: str, status: str = "succeeded") -> bytes:
    moment = datetime.now(UTC) - timedelta(minutes=5)
    spec = Sample(
        event_id=name, amount=Decimal("7.25"), currency="USD", status=status, created=moment
    )
    return SquareProvider().sample(spec)


def test_square_is_enabled_then_reconciled_over_short_pages_and_reported_by_day(
    square: str, fake: SquareEventsFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ("--data-dir", str(tmp_path))
    assert fake.add(_payment("sq-before")) == 0  # events are off until enabled
    code, out, _ = run(capsys, "reconcile", "square", "--since", "1h", *data)
    assert code == 0
    assert "square: listed 0 events" in out
    assert "reconcile square --enable" in out

    code, out, _ = run(capsys, "reconcile", "square", "--enable", "--since", "1h", "--json", *data)
    assert code == 0
    assert fake.enabled
    assert fake.add(*(_payment(f"sq-{n}") for n in range(5)), _payment("sq-r", "refunded")) == 6
    code, out, _ = run(capsys, "reconcile", "square", "--since", "1h", "--json", *data)
    assert code == 0
    report = json.loads(out)
    assert (report["listed"], report["recovered"], report["already_stored"]) == (6, 6, 0)
    assert len(fake.searches()) >= 4  # pages of 2, 1 and 3 events: 6 over at least 3 pages

    store = SQLiteStore(tmp_path / "webhooks.db")
    try:
        recovered = store.get_event("square", "sq-3")
        assert recovered is not None
        assert recovered.arrival == Arrival.RECONCILIATION
    finally:
        store.close()
    code, out, _ = run(capsys, "reconcile", "square", "--since", "1h", "--json", *data)
    assert (json.loads(out)["recovered"], json.loads(out)["already_stored"]) == (0, 6)

    code, out, _ = run(capsys, "completeness", "--since", "1d", "--json", *data)
    assert code == 0
    rows: list[dict[str, Any]] = json.loads(out)
    # The events' day (they are five minutes old); the hour's windows reach into the day
    # before only in the first hour after midnight UTC.
    today = (datetime.now(UTC) - timedelta(minutes=5)).date().isoformat()
    reached = (datetime.now(UTC) - timedelta(hours=1)).date().isoformat()
    square_today = next(r for r in rows if r["provider"] == "square" and r["day"] == today)
    assert square_today["recovered"] == 6
    assert square_today["webhook"] == 0
    assert square_today["listed"] == 6
    assert square_today["reconciled"] == "part"  # from an hour ago: not the whole day
    others = [r for r in rows if r["provider"] == "square" and r["day"] != today]
    assert others
    for other in others:
        expected = ("part", 0) if other["day"] >= reached else ("never", None)
        assert (other["reconciled"], other["listed"]) == expected, other["day"]
    code, out, _ = run(capsys, "completeness", "--since", "1d", *data)
    assert "reconciled" in out.splitlines()[0]


def test_a_wrong_token_is_the_apis_failure_exit_1_and_never_printed(
    square: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_API_KEY_SQUARE", "EAAA-wrong-token")
    code, out, err = run(capsys, "reconcile", "square", "--data-dir", str(tmp_path))
    assert code == 1
    assert "the square events API answered 401" in err
    assert "UNAUTHORIZED" in err
    assert "EAAA-wrong-token" not in out + err


def test_an_api_that_cannot_be_reached_is_exit_1_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.conftest import free_port

    monkeypatch.setenv("WEBHOOK_API_KEY_STRIPE", "sk_test_never_shown")
    monkeypatch.setenv("WEBHOOK_API_BASE_STRIPE", f"http://127.0.0.1:{free_port()}")
    code, _, err = run(capsys, "reconcile", "stripe", "--json", "--data-dir", str(tmp_path))
    assert code == 1
    assert "the stripe events API could not be reached at http://127.0.0.1:" in err


@pytest.mark.parametrize(
    ("args", "environ", "message"),
    [
        (["stripe"], {}, "no API key for stripe: set WEBHOOK_API_KEY_STRIPE"),
        (["adyen"], {}, "Adyen has no API that lists past notifications"),
        (["generic"], {}, "ask the sending system to resend"),
        (
            ["stripe", "--since", "31d"],
            {"WEBHOOK_API_KEY_STRIPE": "sk_test_never_shown"},
            "its events API lists the last 30 days",
        ),
        (
            ["square", "--since", "29d"],
            {"WEBHOOK_API_KEY_SQUARE": TOKEN},
            "its events API lists the last 28 days",
        ),
        (["stripe", "--since", "yesterday"], {}, "is neither a duration"),
        (
            ["stripe", "--since", "1h", "--until", "2h"],
            {"WEBHOOK_API_KEY_STRIPE": "sk_test_never_shown"},
            "is not before --until",
        ),
        (
            ["stripe"],
            {
                "WEBHOOK_API_KEY_STRIPE": "sk_test_never_shown",
                "WEBHOOK_API_BASE_STRIPE": "http://api.example.com",
            },
            "must be https (or http to a loopback address)",
        ),
        (
            ["stripe", "--enable"],
            {"WEBHOOK_API_KEY_STRIPE": "sk_test_never_shown"},
            "--enable is for square",
        ),
    ],
)
def test_bad_input_or_configuration_is_exit_2_with_what_to_do(  # noqa: PLR0917 - fixtures
    args: list[str],
    environ: dict[str, str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("STRIPE", "SQUARE"):
        monkeypatch.delenv(f"WEBHOOK_API_KEY_{name}", raising=False)
        monkeypatch.delenv(f"WEBHOOK_API_BASE_{name}", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "reconcile", *args, "--data-dir", str(tmp_path))
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "webhooks.db").exists()  # refused before anything was stored


def test_a_key_may_come_from_the_secrets_file_and_a_malformed_one_is_refused(
    square: str,
    fake: SquareEventsFake,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WEBHOOK_API_KEY_SQUARE")
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"square": "sig-key", "api_keys": {"square": TOKEN}}))
    fake.enabled = True
    fake.add(_payment("sq-file"))
    code, out, _ = run(capsys, "reconcile", "square", "--json", "--data-dir", str(tmp_path))
    assert code == 0
    assert json.loads(out)["recovered"] == 1
    secrets.write_text(json.dumps({"api_keys": {"square": 5}}))
    code, _, err = run(capsys, "reconcile", "square", "--data-dir", str(tmp_path))
    assert code == 2
    assert "api_keys['square'] must be a non-empty string" in err


def test_completeness_without_a_database_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "completeness", "--data-dir", str(tmp_path / "none"))
    assert code == 2
    assert "no database at" in err


def test_a_malformed_key_is_exit_2_and_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_API_KEY_STRIPE", "sk_test_never_shown\u2019")
    code, _, err = run(capsys, "reconcile", "stripe", "--data-dir", str(tmp_path))
    assert code == 2
    assert "the stripe API key is malformed" in err
    assert "Traceback" not in err


def test_a_dry_run_writes_nothing_not_even_a_database(
    square: str, fake: SquareEventsFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.enabled = True
    fake.add(_payment("sq-dry"))
    data = tmp_path / "fresh"
    code, out, _ = run(
        capsys, "reconcile", "square", "--dry-run", "--json", "--data-dir", str(data)
    )
    assert code == 0
    assert json.loads(out)["recovered"] == 1
    assert not data.exists()
    code, _, err = run(
        capsys, "reconcile", "square", "--enable", "--dry-run", "--data-dir", str(data)
    )
    assert code == 2
    assert "--enable changes Square's settings" in err
    assert [r.path for r in fake.requests if r.path.endswith("/enable")] == []


def test_the_whole_retention_is_a_window(
    square: str, fake: SquareEventsFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.enabled = True
    code, _, err = run(capsys, "reconcile", "square", "--since", "28d", "--data-dir", str(tmp_path))
    assert code == 0, err


def test_the_serve_loop_outlives_a_run_that_fails_unexpectedly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Exploding:
        def __init__(self) -> None:
            self.sources = {"stripe": None, "square": None}
            self.runs: list[str] = []

        def run(self, provider: str) -> None:
            self.runs.append(provider)
            raise RuntimeError("sk_test_never_shown in a message nobody expected")

    from webhook_processor.local.reconciling import ReconcileLoop

    exploding = Exploding()
    ReconcileLoop(exploding, 60).run_once()  # type: ignore[arg-type]
    assert exploding.runs == ["stripe", "square"]  # the first failure did not stop the second
    assert "reconcile stripe failed unexpectedly (RuntimeError)" in caplog.text
    assert "sk_test_never_shown" not in caplog.text


def test_a_failed_enable_and_a_provider_another_run_holds_are_exit_1(
    square: str,
    fake: SquareEventsFake,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = ("--data-dir", str(tmp_path))
    monkeypatch.setenv("WEBHOOK_API_KEY_SQUARE", "EAAA-wrong-token")
    code, _, err = run(capsys, "reconcile", "square", "--enable", *data)
    assert code == 1
    assert "the square events API answered 401" in err
    assert not fake.enabled
    monkeypatch.setenv("WEBHOOK_API_KEY_SQUARE", TOKEN)
    store = SQLiteStore(tmp_path / "webhooks.db")
    try:
        assert store.claim_reconciliation("square", "a scheduled run", datetime.now(UTC))
    finally:
        store.close()
    code, _, err = run(capsys, "reconcile", "square", *data)
    assert code == 1
    assert "another reconciliation of square is running" in err


@pytest.mark.parametrize("since", ["400d", "2099-01-01"])
def test_completeness_takes_a_window_within_the_past_year(
    since: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    SQLiteStore(tmp_path / "webhooks.db").close()
    code, _, err = run(capsys, "completeness", "--since", since, "--data-dir", str(tmp_path))
    assert code == 2
    assert "must be within the past year" in err


def test_the_serve_loop_logs_a_busy_or_failed_provider_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from webhook_processor.errors import ProviderApiError
    from webhook_processor.local.reconciling import ReconcileLoop
    from webhook_processor.reconcile.run import ReconcileBusy

    class Refusing:
        def __init__(self) -> None:
            self.sources = {"stripe": None, "square": None}

        def run(self, provider: str) -> None:
            if provider == "stripe":
                raise ReconcileBusy(provider)
            raise ProviderApiError(provider, "answered 503: try later")

    with caplog.at_level(logging.INFO):
        ReconcileLoop(Refusing(), 60).run_once()  # type: ignore[arg-type]
    assert "reconcile stripe: another run has it" in caplog.text
    assert "reconcile square failed: the square events API answered 503: try later" in caplog.text
