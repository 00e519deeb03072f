from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests never reach a real AWS account: fake credentials and a fixed region for boto3, the
# stream endpoint quirk moto needs, and Powertools without X-Ray. Set before any import of
# the Lambda handlers, whose Powertools objects read them.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "webhook-processor",
    }
)
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(name, None)

from tests.builders import NOW, SECRETS  # noqa: E402
from webhook_processor.bootstrap import LocalConfig, LocalProcessor, build_local  # noqa: E402


@pytest.fixture
def processor(tmp_path: Path) -> Iterator[LocalProcessor]:
    """The local processor on a real SQLite file, with a fixed clock and known secrets."""
    environ = {f"WEBHOOK_SECRET_{name.upper()}": value for name, value in SECRETS.items()}
    built = build_local(LocalConfig(data_dir=tmp_path), environ=environ, clock=lambda: NOW)
    yield built
    built.close()
