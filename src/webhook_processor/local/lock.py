"""What ``serve`` claims before it prints or creates anything: its port, and its data directory.

Two servers on one data directory would each run an outbox over the same rows and publish some
events twice; the second is refused while the first holds ``<data-dir>/serve.lock`` (an
advisory ``flock``, released by the kernel however the holder ends, SIGKILL included).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path
from typing import IO, Final

LOCK_FILE: Final = "serve.lock"


class ClaimRefused(Exception):
    """The port or the data directory is not this server's to take; the message says why."""


def check_port(host: str, port: int) -> None:
    """Raise ClaimRefused if ``host:port`` cannot be bound now (uvicorn binds it just after)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a socket in TIME_WAIT does not count, a listening one does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ClaimRefused(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another with "
                "--port N (make run PORT=N)"
            ) from None


def hold_data_dir(data_dir: Path) -> IO[str]:
    """Lock ``data_dir`` for this process (creating it, private, if missing); keep the returned
    file open for as long as the server runs. ClaimRefused if another server holds it."""
    if data_dir.exists() and not data_dir.is_dir():
        raise ClaimRefused(f"--data-dir {data_dir} is not a directory")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    lock = open(path, "a+", encoding="ascii")  # noqa: SIM115 - held open for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip()
        lock.close()
        who = f"pid {holder}" if holder.isdigit() else "its pid unknown"
        raise ClaimRefused(
            f"{data_dir} is in use by another webhook-processor serve ({who}): two "
            "servers on one data directory would publish events twice; stop it, or give this "
            "one its own --data-dir"
        ) from None
    with contextlib.suppress(OSError):
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
    return lock


def server_holds(data_dir: Path) -> bool:
    """Whether a ``serve`` holds ``data_dir`` now (its lock cannot be taken)."""
    path = data_dir / LOCK_FILE
    if not path.exists():
        return False
    with open(path, "a+", encoding="ascii") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False
