"""Durable HTTP load on loopback, against a bare Starlette endpoint reading the same bodies.

``webhook-processor serve`` runs as users run it (one process, SQLite with
``synchronous=FULL``, the dispatcher publishing every event to the events file); ``wrk`` sends
distinct, validly signed generic events, so every request is a real verify + parse + fsync'd
insert. The baseline is a bare Starlette+uvicorn endpoint that reads the same POST bodies and
answers 200, with the same connections. After the run the server drains its outbox and the
rows are checked: every answered request stored (0 lost), every stored event once in the
events file (0 duplicated). Traffic goes to 127.0.0.1 only, for a bounded time. Needs ``wrk``
(``make bench`` installs it from Debian when it is missing).
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from webhook_processor import codec
from webhook_processor.providers import GenericProvider

SECRET = "whsec_YmVuY2gtbG9hZC1zZWNyZXQtMDEyMzQ1Njc4OQ=="  # noqa: S105 - a benchmark fixture
CONNECTIONS = 64
SECONDS = 5
EVENTS = 120_000  # more than the server takes in SECONDS here, so none repeats
#: The targets: durable throughput at least this ratio to the bare endpoint, at most this much
#: of the server's CPU per request, and this p99.
TARGET = 0.3
TARGET_CPU_US = 180
TARGET_P99_MS = 30

LUA = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end
local requests, n, i, step = {}, 0, 0, 2
function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    requests[n] = line
  end
  -- wrk runs 2 threads, each with its own Lua state: thread k sends lines k, k+2, k+4, ...
  i = wrk.thread:get("id") - step
end
function request()
  i = (i + step - 1) % n + 1
  local body, id, ts, sig = requests[i]:match("^(.-)\\t(.-)\\t(.-)\\t(.-)$")
  return wrk.format("POST", "/webhooks/generic", {
    ["Content-Type"] = "application/json",
    ["webhook-id"] = id, ["webhook-timestamp"] = ts, ["webhook-signature"] = sig,
  }, body)
end
"""


def _requests_file(path: Path) -> int:
    """Signed ~1.9 KB generic events, one per line; returns the body size."""
    provider = GenericProvider()
    now = datetime.now(UTC)
    padding = {f"note_{n}": "x" * 60 for n in range(22)}
    size = 0
    with path.open("w") as out:
        for n in range(EVENTS):
            body = codec.dumps(
                {
                    "transaction_id": f"txn_{n}",
                    "amount": "19.99",
                    "currency": "USD",
                    "status": "succeeded",
                    "customer_id": "cus_1",
                    "metadata": {"order": n, **padding},
                }
            )
            size = len(body)
            headers = provider.sign(body.encode(), SECRET, now, f"msg_{n}").headers
            fields = [body, headers["webhook-id"], headers["webhook-timestamp"]]
            out.write("\t".join([*fields, headers["webhook-signature"]]) + "\n")
    return size


def _wrk(wrk: str, url: str, script: Path, requests: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            str(requests),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non_2xx is None, f"{non_2xx.group(1)} failed requests:\n{out}"
    return {"rate": rate, "p99_ms": float(p99.group(1)) * scale, "requests": total}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(wrk: str, process: subprocess.Popen[bytes], url: str, work: Path) -> dict[str, float]:
    """The wrk run, with the server's CPU time per request: on a shared machine the rate
    moves with the neighbours' load, the CPU a request costs much less."""
    before = _cpu_seconds(process.pid)
    result = _wrk(wrk, url, work / "requests.lua", work / "requests.tsv")
    cpu = _cpu_seconds(process.pid) - before
    return {**result, "cpu_us_per_request": cpu / result["requests"] * 1e6}


def _wait_up(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def _serve(command: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_up(health)
    return process


def _drained(data: Path, timeout: float = 120) -> dict[str, int]:
    """Wait until the outbox is empty, then count rows and published lines."""
    deadline = time.monotonic() + timeout
    conn = sqlite3.connect(data / "webhooks.db", timeout=30)
    try:
        while time.monotonic() < deadline:
            pending = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            if pending == 0:
                break
            time.sleep(0.2)
        stored = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    finally:
        conn.close()
    lines = collections.Counter(
        json.loads(line)["event_id"] for line in (data / "events.jsonl").read_text().splitlines()
    )
    return {
        "stored": stored,
        "pending": pending,
        "dead": dead,
        "published": len(lines),
        "duplicated": sum(count - 1 for count in lines.values()),
    }


def main() -> dict[str, Any]:
    print(f"durable HTTP load on loopback, {CONNECTIONS} connections, {SECONDS} s each")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("  skipped: wrk is not installed (apt-get install wrk)")
        return {"skipped": "wrk is not installed"}
    with tempfile.TemporaryDirectory(dir=".") as directory:
        work = Path(directory).resolve()
        size = _requests_file(work / "requests.tsv")
        (work / "requests.lua").write_text(LUA)
        port = 18000 + os.getpid() % 1000
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "WEBHOOK_SECRET_GENERIC": SECRET}
        bare = _serve([sys.executable, "-m", "bench.bare_endpoint", str(port)], env, base + "/")
        try:
            baseline = _measured(wrk, bare, f"{base}/webhooks/generic", work)
        finally:
            bare.send_signal(signal.SIGTERM)
            bare.wait(timeout=30)
        serve = [sys.executable, "-m", "webhook_processor.cli", "serve"]
        serve += ["--port", str(port), "--data-dir", str(work / "data"), "--log-level", "warning"]
        server = _serve(serve, env, f"{base}/healthz")
        try:
            durable = _measured(wrk, server, f"{base}/webhooks/generic", work)
            rows = _drained(work / "data")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    lost = max(0, int(durable["requests"]) - rows["stored"])
    ratio = durable["rate"] / baseline["rate"]
    print(
        f"  ({size} B signed generic events; targets: x{TARGET} of the bare endpoint, "
        f"{TARGET_CPU_US} us CPU/req, p99 {TARGET_P99_MS} ms)"
    )
    print(
        f"  {'bare Starlette POST, reads the body (baseline)':<46} "
        f"{baseline['rate']:7.0f} /s  p99 {baseline['p99_ms']:6.1f} ms  "
        f"{baseline['cpu_us_per_request']:5.0f} us CPU/req  x1.00"
    )
    print(
        f"  {'serve: verified, fsync-stored, published':<46} {durable['rate']:7.0f} /s  "
        f"p99 {durable['p99_ms']:6.1f} ms  {durable['cpu_us_per_request']:5.0f} us CPU/req  "
        f"x{ratio:.2f}"
    )
    verdicts = (
        ("throughput", f"x{ratio:.2f} >= x{TARGET}", ratio >= TARGET),
        (
            "CPU",
            f"{durable['cpu_us_per_request']:.0f} <= {TARGET_CPU_US} us",
            durable["cpu_us_per_request"] <= TARGET_CPU_US,
        ),
        (
            "p99",
            f"{durable['p99_ms']:.1f} <= {TARGET_P99_MS} ms",
            durable["p99_ms"] <= TARGET_P99_MS,
        ),
    )
    print(
        "  "
        + ";  ".join(f"{name} {text}: {'met' if ok else 'MISSED'}" for name, text, ok in verdicts)
    )
    print(
        f"  rows: {rows['stored']} stored, {rows['published']} published to the events file, "
        f"{lost} lost, {rows['duplicated']} duplicated, {rows['pending']} pending, "
        f"{rows['dead']} dead"
    )
    return {
        "body_bytes": size,
        "baseline": baseline,
        "durable": durable,
        "ratio": ratio,
        "target": TARGET,
        "target_cpu_us": TARGET_CPU_US,
        "target_p99_ms": TARGET_P99_MS,
        "rows": {**rows, "lost": lost},
    }


if __name__ == "__main__":
    main()
