"""What ``serve`` claims before it prints or creates anything: a free port, and a data
directory no other server is using."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from webhook_processor.cli import main
from webhook_processor.local.lock import ClaimRefused, check_port, hold_data_dir


def test_a_data_directory_is_held_by_one_server_at_a_time(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = hold_data_dir(data_dir)
    assert data_dir.stat().st_mode & 0o777 == 0o700
    with pytest.raises(
        ClaimRefused, match=r"in use by another webhook-processor serve \(pid \d+\)"
    ):
        hold_data_dir(data_dir)
    first.close()  # as the kernel does when the holder ends, however it ends
    hold_data_dir(data_dir).close()


def test_a_data_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ClaimRefused, match="is not a directory"):
        hold_data_dir(tmp_path / "file")


def test_a_port_someone_listens_on_is_refused_before_anything_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ClaimRefused, match="choose another with --port N"):
            check_port("127.0.0.1", port)
        code = main(["serve", "--port", str(port), "--data-dir", str(tmp_path / "data")])
    assert code == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_send_names_a_file_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET_STRIPE", "whsec_test")
    missing = tmp_path / "missing.json"
    assert main(["send", "stripe", "--file", str(missing), "--data-dir", str(tmp_path)]) == 2
    assert f"error: cannot read --file {missing}: No such file" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("webhook-processor 0.")
