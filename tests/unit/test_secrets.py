"""Local signing secrets: generated private and stable, the environment wins, clear errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from webhook_processor.errors import SecretUnavailable
from webhook_processor.providers import default_providers
from webhook_processor.signing_secrets import LocalSecrets


def test_generated_secrets_are_private_and_stable(tmp_path: Path) -> None:
    secrets = LocalSecrets(tmp_path / "secrets.json", environ={})
    assert secrets.ensure(default_providers()) == ["generic", "stripe"]
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    first = secrets.get("stripe")
    assert first.startswith("whsec_")
    again = LocalSecrets(tmp_path / "secrets.json", environ={})
    assert again.ensure(default_providers()) == []
    assert again.get("stripe") == first


def test_environment_secret_wins_and_is_not_written(tmp_path: Path) -> None:
    secrets = LocalSecrets(
        tmp_path / "secrets.json", environ={"WEBHOOK_SECRET_STRIPE": "whsec_env"}
    )
    assert secrets.ensure(default_providers()) == ["generic"]
    assert secrets.get("stripe") == "whsec_env"
    assert "stripe" not in json.loads((tmp_path / "secrets.json").read_text())


@pytest.mark.parametrize(
    ("content", "message"), [("{", "cannot read"), ("[1]", "must hold a JSON object")]
)
def test_corrupt_secrets_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "secrets.json").write_text(content)
    with pytest.raises(SecretUnavailable, match=message):
        LocalSecrets(tmp_path / "secrets.json", environ={}).get("stripe")
