from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders import NOW, SECRETS
from webhook_processor.bootstrap import LocalConfig, LocalProcessor, build_local


@pytest.fixture
def processor(tmp_path: Path) -> Iterator[LocalProcessor]:
    """The local processor on a real SQLite file, with a fixed clock and known secrets."""
    environ = {f"WEBHOOK_SECRET_{name.upper()}": value for name, value in SECRETS.items()}
    built = build_local(LocalConfig(data_dir=tmp_path), environ=environ, clock=lambda: NOW)
    yield built
    built.close()
