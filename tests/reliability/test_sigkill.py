"""SIGKILL under load, restarted, five times: every acknowledged event stored and published.

A real ``serve`` process on loopback, eight clients posting distinct signed events; each round
kills the server once some have been acknowledged, then starts it again on the same data
directory. At the end every event that got a 200 is stored and in the events file, the file
holds only whole lines (a partial line fails the read), and copies of a line, possible only for
an event whose delivery was in flight at a kill, are identical.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.integration.conftest import Server
from tests.support.builders import encode, generic_body, signed
from tests.support.loopback import post
from webhook_processor.local.bootstrap import LocalConfig, local_secrets

pytestmark = pytest.mark.slow

ROUNDS = 5
#: Acknowledged events to wait for before each kill; each round posts at most 8 x 200.
PER_ROUND = 150


def _load(server: Server, round_: int, acknowledged: list[str], stop: threading.Event) -> None:
    secret = local_secrets(LocalConfig(data_dir=server.data_dir)).active("generic")[0]
    lock = threading.Lock()

    def client(worker: int) -> None:
        with server.client() as http:
            for n in range(200):  # bounded: at most 8 x 200 requests a round, all to loopback
                if stop.is_set():
                    return
                message_id = f"msg_{round_}_{worker}_{n}"
                body = encode(generic_body(transaction_id=f"txn_{message_id}", amount=f"{n}.00"))
                body, headers = signed(
                    "generic", body, at=datetime.now(UTC), message_id=message_id, secret=secret
                )
                try:
                    status = post(http, "generic", body, headers).status_code
                except httpx.TransportError:
                    return  # killed mid-request: never acknowledged
                if status == 200:
                    with lock:
                        acknowledged.append(message_id)

    workers = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    target = len(acknowledged) + PER_ROUND
    deadline = time.monotonic() + 30
    while len(acknowledged) < target and time.monotonic() < deadline:
        time.sleep(0.005)
    server.kill()
    stop.set()
    for worker in workers:
        worker.join(timeout=30)


def test_five_sigkills_under_load_lose_no_acknowledged_event(tmp_path: Path) -> None:
    server = Server(tmp_path)
    acknowledged: list[str] = []
    try:
        for round_ in range(ROUNDS):
            server.start()
            _load(server, round_, acknowledged, threading.Event())
            assert len(acknowledged) >= PER_ROUND * (round_ + 1), f"round {round_} stalled"
        server.start()
        # Not a count: an event stored while its client was killed is published, unacknowledged.
        lines = server.wait_published_ids(set(acknowledged).issubset, timeout=60)
        stored = json.loads(server.cli("events", "--json", "--limit", "100000").stdout)
    finally:
        server.stop()
    published = {line["event_id"] for line in lines}
    missing = sorted(set(acknowledged) - published)
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged never published"
    assert set(acknowledged) <= {event["key"].removeprefix("generic:") for event in stored}
    by_id: dict[str, dict[str, object]] = {}
    for line in lines:
        assert by_id.setdefault(line["event_id"], line) == line
