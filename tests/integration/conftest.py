"""A real ``webhook-processor serve`` process on loopback, and the CLI, as a user runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2 as httpx
import pytest

from tests.support.loopback import read_events_file

if TYPE_CHECKING:
    from tests.integration.test_lambda import Deployed

CLI = [sys.executable, "-m", "webhook_processor.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    #: ``serve``'s bind address; the tests reach it on 127.0.0.1 whatever it is.
    host: str = "127.0.0.1"
    #: More ``serve`` options (``--subscriber URL``, ``--max-attempts N``, ...).
    options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with (self.data_dir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *CLI,
                    "serve",
                    *("--host", self.host, "--port", str(self.port)),
                    *("--data-dir", str(self.data_dir), *self.options),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {(self.data_dir / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not answer /healthz within 20 s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def published(self) -> list[dict[str, Any]]:
        return read_events_file(self.data_dir / "events.jsonl")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def wait_published(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        """The events file once it holds ``count`` distinct events (or the timeout passed)."""
        return self.wait_published_ids(lambda ids: len(ids) >= count, timeout)

    def wait_published_ids(
        self, done: Callable[[set[str]], bool], timeout: float = 20
    ) -> list[dict[str, Any]]:
        """The events file once the set of its event ids is ``done`` (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.published()
            if done({line["event_id"] for line in lines}):
                return lines
            time.sleep(0.05)
        return self.published()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def deployed() -> Iterator[Deployed]:
    """The Lambda functions and their resources on moto (``test_lambda.deploy``)."""
    from tests.integration.test_lambda import deploy

    with deploy() as deployment:
        yield deployment


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    """localstripe (the stateful Stripe emulator) on a loopback port, for the module."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.localstripe_server", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(base, timeout=1)
        except urllib.error.HTTPError:
            break  # it answers (401 without a key): ready
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.05)
    yield base
    process.terminate()
    process.wait(timeout=10)
