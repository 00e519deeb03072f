from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.aws import use_fake_environment

# Before any import of boto3 or the Lambda handlers, whose Powertools objects read it.
use_fake_environment()
# The local processor's own default, which the Square oracle signs against.
os.environ.pop("WEBHOOK_SQUARE_NOTIFICATION_URL", None)

from tests.support.builders import NOW, SECRETS  # noqa: E402
from webhook_processor.local.bootstrap import LocalConfig, LocalProcessor, build_local  # noqa: E402
from webhook_processor.publishing.memory import MemorySink  # noqa: E402
from webhook_processor.storage.memory import MemoryStore  # noqa: E402

ENVIRON = {f"WEBHOOK_SECRET_{name.upper()}": value for name, value in SECRETS.items()}


@pytest.fixture
def processor(tmp_path: Path) -> Iterator[LocalProcessor]:
    """The local processor on a real SQLite file, with a fixed clock and known secrets."""
    built = build_local(LocalConfig(data_dir=tmp_path), environ=ENVIRON, clock=lambda: NOW)
    yield built
    built.close()


@pytest.fixture
def memory_processor(tmp_path: Path) -> Iterator[LocalProcessor]:
    """The same wiring on the shipped fakes: ``MemoryStore`` and one ``MemorySink``."""
    built = build_local(
        LocalConfig(data_dir=tmp_path),
        environ=ENVIRON,
        clock=lambda: NOW,
        store=MemoryStore(),
        sinks=[MemorySink()],
    )
    yield built
    built.close()


@pytest.fixture(autouse=True)
def _untraced(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test marked ``untraced`` runs with coverage paused (pytest-cov's own ``no_cover``
    fails under ``--no-cov``, which ``make check`` uses)."""
    if request.node.get_closest_marker("untraced") is None:
        yield
        return
    cov = request.getfixturevalue("cov")  # None when coverage is off
    if cov is None:
        yield
        return
    cov.stop()
    try:
        yield
    finally:
        cov.start()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests (the untraced property tests, tens of seconds each) first, so that the
    workers are not left waiting on one of them at the end."""
    items.sort(key=lambda item: item.get_closest_marker("untraced") is None)
