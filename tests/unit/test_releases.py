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
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import NOW, make_event
from webhook_processor import codec
from webhook_processor.aws.items import (
    from_item,
    state_from_item,
    to_item,
    transaction_item,
)
from webhook_processor.cli import main
from webhook_processor.local.sqlite.store import SQLiteStore
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
    assert printed == json.loads((RELEASE / expected).read_text())
    assert printed  # the release's answer was not empty


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


def test_the_dynamodb_items_keep_the_shape_release_0_1_0_wrote() -> None:
    written = codec.loads((RELEASE / "dynamodb-items.json").read_text())
    assert {item["kind"] for item in written} == {"event", "transaction"}
    for item in written:
        if item["kind"] == "event":
            again = to_item(from_item(item))
        else:
            again = transaction_item(state_from_item(item), from_item(item["last_event"]))
        assert codec.loads(codec.dumps(again)) == item, item["pk"]
