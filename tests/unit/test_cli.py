"""The CLI in-process: inspection tables and JSON, redrive, send's errors, help."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn

from tests.support.builders import NOW, make_event
from webhook_processor.cli import main
from webhook_processor.errors import SignatureMismatch
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.model import WebhookRequest
from webhook_processor.providers.square import SquareProvider


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    store = SQLiteStore(tmp_path / "webhooks.db")
    store.register_sinks(["http"])
    store.insert_all([make_event("evt_1", amount=Decimal("0.001"), currency="BHD")])
    store.insert_all([make_event("evt_2", transaction_id="pi_2")])
    store.fail_delivery("http", "stripe:evt_2", "http: 500", at=NOW, retry_at=None)
    store.close()
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_transactions_json_keeps_amounts_exact(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "transactions", "--json", "--data-dir", str(data_dir))
    assert code == 0
    rows = json.loads(out, parse_float=Decimal)
    assert {r["transaction_id"]: r["amount"] for r in rows} == {
        "pi_1": Decimal("0.001"),
        "pi_2": Decimal("19.99"),
    }
    assert '"amount":0.001,' in out


def test_events_table_shows_delivery_state(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "events", "--data-dir", str(data_dir))
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split()[:3] == ["key", "transaction_id", "event_type"]
    states = {line.split()[0]: line for line in lines}
    assert "pending" in states["stripe:evt_1"]
    assert "dead" in states["stripe:evt_2"]
    assert "http: 500" in states["stripe:evt_2"]


def test_dead_letters_and_redrive(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "dead-letters", "--json", "--data-dir", str(data_dir))
    assert [d["key"] for d in json.loads(out)] == ["stripe:evt_2"]
    code, out, err = run(
        capsys, "redrive", "stripe:evt_2", "stripe:evt_9", "--data-dir", str(data_dir)
    )
    assert (code, out, err) == (1, "queued stripe:evt_2\n", "not a dead letter: stripe:evt_9\n")
    _, out, _ = run(capsys, "dead-letters", "--data-dir", str(data_dir))
    assert out == "(none)\n"
    code, out, _ = run(capsys, "redrive", "--all", "--data-dir", str(data_dir))
    assert (code, out) == (0, "no dead letters\n")


def test_redrive_needs_keys_or_all(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["redrive", "--data-dir", str(data_dir)])
    assert exit_info.value.code == 2
    assert "one of the arguments --all KEY is required" in capsys.readouterr().err


def test_help_lists_every_command_with_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    # argparse lists each command indented by four spaces, its help beside or below it.
    names = [line.split()[0] for line in out.splitlines() if len(line) - len(line.lstrip()) == 4]
    assert names == [
        "serve",
        "send",
        "transactions",
        "events",
        "dead-letters",
        "transaction",
        "redrive",
        "reconcile",
        "completeness",
        "status",
        "aws",
    ]
    assert "list stored events with their delivery state" in out
    assert "recover events the provider never delivered" in out


def test_send_without_a_secret_explains_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEBHOOK_SECRET_STRIPE", raising=False)
    code, _, err = run(capsys, "send", "stripe", "--data-dir", str(tmp_path))
    assert code == 2
    assert "set WEBHOOK_SECRET_STRIPE or run 'webhook-processor serve' once" in err


def test_send_to_a_closed_port_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET_GENERIC", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    code, _, err = run(
        capsys, "send", "generic", "--url", "http://127.0.0.1:9", "--data-dir", str(tmp_path)
    )
    assert code == 1
    assert "cannot reach http://127.0.0.1:9/webhooks/generic" in err


def test_bad_amount_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["send", "stripe", "--amount", "lots"])
    assert "'lots' is not a decimal amount" in capsys.readouterr().err


def test_inspection_without_a_database_says_where_it_looked_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "transactions", "--data-dir", str(tmp_path / "nowhere"))
    assert code == 2
    assert "no database at" in err
    assert "start 'webhook-processor serve' first" in err
    assert not (tmp_path / "nowhere").exists()


def test_items_is_a_positive_count_for_providers_that_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit):
        main(["send", "adyen", "--items", "0"])
    assert "'0' is not a positive whole number" in capsys.readouterr().err
    monkeypatch.setenv("WEBHOOK_SECRET_STRIPE", "whsec_x")
    code, _, err = run(capsys, "send", "stripe", "--items", "2", "--data-dir", str(tmp_path))
    assert code == 2
    assert "stripe delivers one event per request; --items is for adyen" in err


def test_send_signs_with_the_first_of_several_active_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a secret rotates, send signs as the provider now does: with the new, first one."""
    sent: list[WebhookRequest] = []

    def capture(request: urllib.request.Request, timeout: float) -> None:
        assert isinstance(request.data, bytes)
        sent.append(WebhookRequest.build("square", request.header_items(), request.data, NOW))
        raise urllib.error.URLError("captured")

    monkeypatch.setattr(urllib.request, "urlopen", capture)
    new, old = "new-signature-key", "old-signature-key"
    monkeypatch.setenv("WEBHOOK_SECRET_SQUARE", f"{new},{old}")
    code, _, _ = run(capsys, "send", "square", "--data-dir", str(tmp_path))
    assert code == 1
    [delivery] = sent
    [event] = SquareProvider().parse(delivery, new, NOW)
    assert event.amount == Decimal("19.99")
    with pytest.raises(SignatureMismatch):
        SquareProvider().parse(delivery, old, NOW)


@pytest.fixture
def refunded_before_captured(tmp_path: Path) -> Path:
    """A refund that arrived before the capture it refunds, then a late processing event."""
    store = SQLiteStore(tmp_path / "webhooks.db")
    later = NOW.replace(second=30)
    store.insert_all(
        [
            make_event(
                "evt_refund",
                transaction_id="pi_9",
                event_type="refund.created",
                status="refunded",
                amount=Decimal("25.00"),
                occurred_at=later,
                received_at=NOW,
            )
        ]
    )
    store.insert_all(
        [
            make_event(
                "evt_capture",
                transaction_id="pi_9",
                amount=Decimal("25.00"),
                received_at=NOW.replace(second=5),
            ),
            make_event(
                "evt_processing",
                transaction_id="pi_9",
                event_type="payment_intent.processing",
                status="pending",
                amount=Decimal("25.00"),
                received_at=NOW.replace(second=9),
            ),
        ]
    )
    store.close()
    return tmp_path


def test_transactions_show_where_each_stands_and_its_late_events(
    refunded_before_captured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "transactions", "--json", "--data-dir", str(refunded_before_captured)
    )
    assert code == 0
    [row] = json.loads(out, parse_float=Decimal)
    assert (row["transaction_id"], row["status"], row["refunded"], row["late"]) == (
        "pi_9",
        "refunded",
        Decimal("25.00"),
        1,
    )


def test_a_transactions_timeline_shows_each_event_before_and_after_with_late_marks(
    refunded_before_captured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "transaction", "pi_9", "--data-dir", str(refunded_before_captured))
    assert code == 0
    summary, movements, timeline = out.split("\n\n")
    assert "refunded" in summary.splitlines()[1]
    assert movements.splitlines()[0].split() == [
        "kind",
        "movement_id",
        "status",
        "amount",
        "currency",
        "counted",
        "provider_time",
        "event_id",
    ]
    assert movements.splitlines()[1].split()[:6] == [
        "refund",
        "stripe:evt_refund",
        "succeeded",
        "25.00",
        "USD",
        "yes",
    ]
    header, *lines = timeline.splitlines()
    assert header.split() == [
        "version",
        "received_at",
        "provider_time",
        "event_id",
        "event_type",
        "says",
        "amount",
        "before",
        "after",
        "refunded",
        "reversed",
        "late",
        "arrival",
    ]
    assert [line.split()[3] for line in lines] == ["evt_refund", "evt_capture", "evt_processing"]
    assert lines[0].split()[7:10] == ["-", "partially_refunded", "25.00"]
    assert lines[1].split()[7:9] == ["partially_refunded", "refunded"]
    assert lines[2].split()[-2:] == ["late", "webhook"]


def test_a_timeline_for_scripts_and_for_unknown_or_shared_ids(
    refunded_before_captured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--data-dir", str(refunded_before_captured)]
    code, out, _ = run(capsys, "transaction", "pi_9", "--json", *where)
    answer = json.loads(out)
    assert code == 0
    assert answer["transaction"]["status"] == "refunded"
    assert [row["late"] for row in answer["timeline"]] == ["", "", "late"]
    code, _, err = run(capsys, "transaction", "pi_none", *where)
    assert (code, err) == (1, "error: no transaction 'pi_none'\n")
    store = SQLiteStore(refunded_before_captured / "webhooks.db")
    store.insert_all([make_event("evt_g", provider="generic", transaction_id="pi_9")])
    store.close()
    code, _, err = run(capsys, "transaction", "pi_9", *where)
    assert (code, err) == (
        2,
        "error: generic, stripe each have a transaction 'pi_9': choose one with --provider\n",
    )
    code, out, _ = run(capsys, "transaction", "pi_9", "--provider", "generic", *where)
    assert code == 0
    assert "evt_g" in out
    assert "evt_refund" not in out


@pytest.mark.parametrize(
    "option",
    [
        ["--max-body-bytes", "-5"],
        ["--max-body-bytes", "0"],
        ["--max-attempts", "0"],
        ["--port", "70000"],
        ["--port", "-1"],
        ["--subscriber", "ftp://example/hook"],
        ["--subscriber", "http://"],
        ["--subscriber", "http://127.0.0.1:1/\u00e9"],
        ["--subscriber", f"http://{'a' * 64}.example/hook"],
        ["--delivery-timeout", "0"],
        ["--delivery-timeout", "soon"],
        ["--delivery-timeout", "nan"],
        ["--stale-after", "-1"],
    ],
)
def test_serve_refuses_an_invalid_option_before_starting(
    option: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--data-dir", str(tmp_path), *option])
    assert exit_info.value.code == 2
    assert started == []


def test_status_says_which_sink_is_behind(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """evt_1 waits for the http sink since NOW (a fixed past date): the sink is behind."""
    monkeypatch.setattr("webhook_processor.local.volume.ask_endpoints", lambda *a, **k: {})
    code, out, err = run(capsys, "status", "--data-dir", str(data_dir))
    assert code == 1
    assert "sink http: 1 pending, 1 dead letters, the oldest received" in out
    assert "(behind)" in out
    assert "http" in err
    code, out, _ = run(capsys, "status", "--json", "--data-dir", str(data_dir))
    [lane] = json.loads(out)["sinks"]
    assert (lane["sink"], lane["pending"], lane["dead"], lane["stale"]) == ("http", 1, 1, True)
