"""Who the inspector answers, decided before anything is read; and serve's token option."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook_processor.cli import main
from webhook_processor.errors import Forbidden
from webhook_processor.local.inspector.access import COOKIE, Access, check_token, is_loopback

TOKEN = "0123456789abcdef-token"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),  # noqa: S104 - every interface is not loopback
        ("10.0.0.5", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {TOKEN}"},
        {"authorization": f"bearer {TOKEN}"},
        {"cookie": f"theme=dark; {COOKIE}={TOKEN}"},
    ],
)
def test_a_token_is_taken_from_the_header_or_the_cookie(headers: dict[str, str]) -> None:
    Access("10.0.0.5", TOKEN).check({"host": "10.0.0.5", **headers})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": f"Basic {TOKEN}"},
        {"authorization": f"Bearer {TOKEN}x"},
        {"cookie": f"other={TOKEN}"},
        {"cookie": f"{COOKIE}={TOKEN[:-1]}"},
    ],
)
def test_anything_but_the_token_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(Forbidden, match="needs its access token"):
        Access("127.0.0.1", TOKEN).check({"host": "127.0.0.1", **headers})


def test_a_malformed_host_header_is_refused() -> None:
    with pytest.raises(Forbidden, match="loopback host only"):
        Access("127.0.0.1").check({"host": "[::1"})
    with pytest.raises(Forbidden, match="loopback host only"):
        Access("127.0.0.1").check({})


@pytest.mark.parametrize("token", ["short", "x" * 257, "has space in it ok", "ünïcode-token-123"])
def test_a_token_that_is_too_weak_or_unsafe_in_a_url_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="16 to 256 characters"):
        check_token(token)


def test_serve_refuses_a_bad_token_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--inspector-token", "short"])
    assert exit_info.value.code == 2
    assert "the inspector token must be 16 to 256 characters" in capsys.readouterr().err


def test_serve_refuses_a_bad_token_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_INSPECTOR_TOKEN", "short")
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    assert "error: WEBHOOK_INSPECTOR_TOKEN: the inspector token must be" in capsys.readouterr().err
    assert not (tmp_path / "webhooks.db").exists()
