"""What the local processor leaves on disk is readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from starlette.testclient import TestClient

from tests.conftest import ENVIRON
from tests.support.builders import NOW, encode, generic_body, signed
from tests.support.loopback import post
from webhook_processor.local.bootstrap import LocalConfig, build_local
from webhook_processor.local.server import create_app


def test_the_database_its_journal_and_the_data_directory_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    processor = build_local(LocalConfig(data_dir=data_dir), environ=ENVIRON, clock=lambda: NOW)
    try:
        body, headers = signed("generic", encode(generic_body()))
        with TestClient(create_app(processor, run_dispatcher=False)) as client:
            assert post(client, "generic", body, headers).status_code == 200
            modes = {
                path.name: stat.S_IMODE(path.stat().st_mode)
                for path in data_dir.iterdir()
                if path.name.startswith("webhooks.db")
            }
    finally:
        processor.close()
    assert set(modes) >= {"webhooks.db", "webhooks.db-wal"}
    assert set(modes.values()) == {0o600}
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
