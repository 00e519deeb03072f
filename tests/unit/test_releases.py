"""What a user of an earlier release has keeps working: its data directory, its table's items.

``tests/support/data/release-0.1.0/`` was made by release 0.1.0 (before the two wings): a data
directory's database, dumped as SQL (56 documented sample events of every provider, delivered,
pending, and two dead letters), what that release's ``events``, ``transactions``,
``dead-letters`` and ``transaction ID`` printed for it with ``--json``, and the DynamoDB items it
wrote for three of its transactions.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import NOW, SECRETS, make_event, sample_event, signed
from webhook_processor import codec
from webhook_processor.aws.items import (
    from_item,
    published_event,
    state_from_item,
    to_item,
    transaction_item,
)
from webhook_processor.cli import main
from webhook_processor.local.sqlite.store import SQLiteStore
from webhook_processor.model import WebhookRequest
from webhook_processor.providers.adyen import AdyenProvider
from webhook_processor.storage.paging import EventFilter

RELEASE = Path(__file__).parent.parent / "support" / "data" / "release-0.1.0"
TRANSACTION = "pi_1PgafyB7WZ01zgkWSjxsAJo3"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory as release 0.1.0 left it."""
    directory = tmp_path / ".data"
    directory.mkdir()
    conn = sqlite3.connect(directory / "webhooks.db")
    conn.executescript((RELEASE / "webhooks.sql").read_text())
    conn.close()
    return directory


def _printed(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["events", "--limit", "100"], "cli-events.json"),
        (["transactions", "--limit", "100"], "cli-transactions.json"),
        (["dead-letters", "--limit", "100"], "cli-dead-letters.json"),
        (["transaction", TRANSACTION], "cli-transaction.json"),
    ],
)
def test_a_data_directory_of_release_0_1_0_lists_what_that_release_listed(
    data_dir: Path, capsys: pytest.CaptureFixture[str], command: list[str], expected: str
) -> None:
    printed = _printed(capsys, *command, "--json", "--data-dir", str(data_dir))
    listed = json.loads((RELEASE / expected).read_text())
    assert listed  # the release's answer was not empty
    # Every field the release printed is printed with the same value; later releases add the
    # amounts a team reconciles with (authorized, captured, disputed) and each refund. Only the
    # late marks may differ: an authorisation after the payment's outcome now tells what was
    # authorised (pi_1Pgafy...'s uncaptured charge.succeeded), so it is no longer late.
    assert _within(_unmarked(listed), printed)


def _unmarked(value: Any) -> Any:
    """``value`` without its late marks and counts."""
    if isinstance(value, dict):
        return {k: _unmarked(v) for k, v in value.items() if k != "late"}
    if isinstance(value, list):
        return [_unmarked(v) for v in value]
    return value


def _renamed(item: dict[str, Any]) -> dict[str, Any]:
    """An event item with release 0.1.0's one attribute renamed: a refund's id is the id of a
    movement (a refund or capture) now."""
    return {("movement_id" if k == "refund_id" else k): v for k, v in item.items()}


def _within(old: Any, new: Any) -> bool:
    """Whether ``new`` says everything ``old`` says (dicts may have more keys)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(
            k in new and _within(v, new[k]) for k, v in old.items()
        )
    if isinstance(old, list):
        return (
            isinstance(new, list)
            and len(old) == len(new)
            and all(_within(o, n) for o, n in zip(old, new, strict=True))
        )
    return bool(old == new)


def test_a_data_directory_of_release_0_1_0_takes_new_events_and_redrives_its_letters(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letters = _printed(capsys, "dead-letters", "--json", "--data-dir", str(data_dir))
    assert len(letters) == 2
    store = SQLiteStore(data_dir / "webhooks.db")
    try:
        assert store.insert_all(
            [make_event("evt_after_upgrade", received_at=NOW + timedelta(days=1))]
        ) == [True]
        assert store.redrive(None, NOW) == sorted(letter["key"] for letter in letters)
        assert store.dead_letter_page(None, 10).items == []
        newest = store.event_page(EventFilter(), None, 1).items
        assert [event.event_id for event in newest] == ["evt_after_upgrade"]
    finally:
        store.close()


def test_the_dynamodb_items_release_0_1_0_wrote_read_back_and_keep_their_attributes() -> None:
    """An event item reads back to what it was written from (and how it arrived); a transaction item to the same
    standing, and written again it keeps every attribute but its dimensions' text (refunds are
    no longer kept inside it), with the amounts a team reconciles with added."""
    written = codec.loads((RELEASE / "dynamodb-items.json").read_text())
    assert {item["kind"] for item in written} == {"event", "transaction"}
    for item in written:
        if item["kind"] == "event":
            again = to_item(from_item(item))
            # Every event of that release arrived by webhook: written again, it says so.
            expected = {**_renamed(item), "arrival": "webhook"}
            assert codec.loads(codec.dumps(again)) == expected, item["pk"]
            continue
        state = state_from_item(item)
        assert (state.status, state.amount, state.refunded, state.currency) == (
            item["status"],
            item["amount"],
            item["refunded"],
            item["currency"],
        )
        event = from_item(item["last_event"])
        again = codec.loads(codec.dumps(transaction_item(state, event)))
        # Its last event is kept without what the item holds already, and reads back whole;
        # its place in ``by_recency`` is dropped (transactions are listed at their last events).
        recency = {"recent_shard", "recent_key"}
        assert recency <= set(item)
        assert not recency & set(again)
        kept = {
            name: value
            for name, value in item.items()
            if name not in {"dimensions", "last_event", *recency}
        }
        assert _within(kept, again), item["pk"]
        assert {"authorized", "captured", "disputed"} <= set(again)
        assert state_from_item(again) == state
        # The update it reads back is the state's own, where 0.1.0 wrote fewer amounts.
        published = published_event(again)
        assert published is not None
        assert published.transaction is not None
        assert replace(published, transaction=None) == replace(event, transaction=None)
        assert (published.transaction.status, published.transaction.version) == (
            state.status,
            state.version,
        )
        assert published_event(item) == event, item["pk"]


def test_an_adyen_refund_stored_by_release_0_1_0_can_fail_after_the_upgrade(
    data_dir: Path,
) -> None:
    """0.1.0 kept no refund id for Adyen; its REFUND's pspReference names it now."""
    store = SQLiteStore(data_dir / "webhooks.db")
    try:
        before = store.transaction("adyen", "9913140798220028")
        assert before is not None
        assert before.refunded == Decimal("5.00")
        body, headers = signed("adyen", sample_event("adyen", "REFUND_FAILED"))
        request = WebhookRequest.build("adyen", headers, body, NOW)
        events = AdyenProvider().parse(request, SECRETS["adyen"], NOW)
        assert store.insert_all(events) == [True]
        after = store.transaction("adyen", "9913140798220028")
        assert after is not None
        assert after.refunded == 0
    finally:
        store.close()
