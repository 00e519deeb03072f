"""Local signing secrets: generated private and stable, the environment wins, clear errors."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from webhook_processor.errors import SecretUnavailable
from webhook_processor.local.secrets import LocalSecrets
from webhook_processor.providers import default_providers


def test_generated_secrets_are_private_and_stable(tmp_path: Path) -> None:
    secrets = LocalSecrets(tmp_path / "secrets.json", environ={})
    assert secrets.ensure(default_providers()) == sorted(default_providers())
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    [first] = secrets.active("stripe")
    assert first.startswith("whsec_")
    again = LocalSecrets(tmp_path / "secrets.json", environ={})
    assert again.ensure(default_providers()) == []
    assert again.active("stripe") == (first,)


def test_environment_secret_wins_and_is_not_written(tmp_path: Path) -> None:
    secrets = LocalSecrets(
        tmp_path / "secrets.json", environ={"WEBHOOK_SECRET_STRIPE": "whsec_env"}
    )
    assert "stripe" not in secrets.ensure(default_providers())
    assert secrets.active("stripe") == ("whsec_env",)
    assert "stripe" not in json.loads((tmp_path / "secrets.json").read_text())


@pytest.mark.parametrize(
    ("content", "message"), [("{", "cannot read"), ("[1]", "must hold a JSON object")]
)
def test_corrupt_secrets_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "secrets.json").write_text(content)
    with pytest.raises(SecretUnavailable, match=message):
        LocalSecrets(tmp_path / "secrets.json", environ={}).active("stripe")


def test_several_active_secrets_are_listed_with_commas_the_current_one_first(
    tmp_path: Path,
) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"adyen": "AB12, CD34,"}))
    environ = {"WEBHOOK_SECRET_STRIPE": "whsec_new,whsec_old,whsec_new"}
    secrets = LocalSecrets(tmp_path / "secrets.json", environ=environ)
    assert secrets.active("stripe") == ("whsec_new", "whsec_old")
    assert secrets.active("adyen") == ("AB12", "CD34")


@pytest.mark.parametrize(
    ("value", "message"),
    [(" , ", "holds no secret"), ("a,b,c,d", "holds 4 secrets; at most 3 may be active")],
)
def test_a_secret_list_that_is_empty_or_too_long_is_a_clear_error(
    tmp_path: Path, value: str, message: str
) -> None:
    secrets = LocalSecrets(tmp_path / "secrets.json", environ={"WEBHOOK_SECRET_STRIPE": value})
    with pytest.raises(SecretUnavailable, match=f"WEBHOOK_SECRET_STRIPE {message}"):
        secrets.active("stripe")


def test_a_secret_rotated_in_the_file_is_used_within_the_ttl_without_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"stripe": "whsec_old"}))
    now = [0.0]
    secrets = LocalSecrets(path, environ={}, ttl_seconds=5, clock=lambda: now[0])
    assert secrets.active("stripe") == ("whsec_old",)
    path.write_text(json.dumps({"stripe": "whsec_rotated_new"}))
    now[0] = 1.0
    assert secrets.active("stripe") == ("whsec_old",)  # within the TTL: the cached value
    now[0] = 6.0
    assert secrets.active("stripe") == ("whsec_rotated_new",)


def test_an_api_key_comes_from_the_environment_or_the_files_api_keys(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"stripe": "whsec_x", "api_keys": {"stripe": " rk_file "}}))
    from_file = LocalSecrets(path, {})
    assert from_file.api_key("stripe") == "rk_file"
    assert from_file.api_key("square") is None
    assert from_file.active("stripe") == ("whsec_x",)
    environ = {"WEBHOOK_API_KEY_STRIPE": "rk_env"}
    assert LocalSecrets(path, environ).api_key("stripe") == "rk_env"
    assert LocalSecrets(tmp_path / "none.json", {}).api_key("stripe") is None


def test_generating_signing_secrets_keeps_the_files_api_keys(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"api_keys": {"square": "EAAA-token"}}))
    secrets = LocalSecrets(path, {})
    assert secrets.ensure(default_providers()) == sorted(default_providers())
    assert json.loads(path.read_text())["api_keys"] == {"square": "EAAA-token"}
    assert secrets.api_key("square") == "EAAA-token"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"api_keys": ["rk"]}, "'api_keys' must be an object"),
        ({"api_keys": {"stripe": 5}}, "api_keys['stripe'] must be a non-empty string"),
        ({"api_keys": {"stripe": " "}}, "api_keys['stripe'] must be a non-empty string"),
    ],
)
def test_a_malformed_api_key_is_a_clear_error_that_quotes_no_key(
    tmp_path: Path, content: dict[str, object], message: str
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(content))
    with pytest.raises(SecretUnavailable, match=re.escape(message)):
        LocalSecrets(path, {}).api_key("stripe")


def test_a_provider_whose_key_cannot_be_read_is_not_listed_as_reconciled(tmp_path: Path) -> None:
    from webhook_processor.local.reconciling import listable

    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"api_keys": {"stripe": 5, "square": "EAAA-token"}}))
    assert listable(LocalSecrets(path, {}), {}) == ["square"]
