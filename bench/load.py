"""HTTP load on loopback: the webhook endpoint against the bare health endpoint, same run.

``webhook-processor serve`` runs as users run it (one uvicorn worker, SQLite with
``synchronous=FULL``); ``wrk`` sends distinct, validly signed generic events, so every request is
a real verify + parse + fsync'd insert. The baseline is ``GET /healthz`` on the same server with
the same connections. Traffic goes to 127.0.0.1 only, for a bounded time. Needs ``wrk``
(``apt-get install wrk``); without it this benchmark says so and is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from webhook_processor import codec
from webhook_processor.providers import GenericProvider

SECRET = "whsec_YmVuY2gtbG9hZC1zZWNyZXQtMDEyMzQ1Njc4OQ=="  # noqa: S105 - a benchmark fixture
CONNECTIONS = 64
SECONDS = 5
EVENTS = 60_000  # more than the server can take in SECONDS here, so none repeats

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


def _requests_file(path: Path) -> None:
    provider = GenericProvider()
    now = datetime.now(UTC)
    with path.open("w") as out:
        for n in range(EVENTS):
            body = codec.dumps(
                {
                    "transaction_id": f"txn_{n}",
                    "amount": "19.99",
                    "currency": "USD",
                    "status": "succeeded",
                    "customer_id": "cus_1",
                    "metadata": {"order": n},
                }
            )
            headers = provider.sign(body.encode(), SECRET, now, f"msg_{n}").headers
            out.write(
                "\t".join(
                    [
                        body,
                        headers["webhook-id"],
                        headers["webhook-timestamp"],
                        headers["webhook-signature"],
                    ]
                )
                + "\n"
            )


def _wrk(wrk: str, url: str, script: Path | None = None, *args: str) -> tuple[float, float]:
    options = ["-s", str(script)] if script else []
    out = subprocess.run(
        [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", *options, url, "--", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non_2xx is None, f"{non_2xx.group(1)} failed requests:\n{out}"
    return rate, float(p99.group(1)) * scale


def main() -> None:
    print(f"HTTP on loopback, {CONNECTIONS} connections, {SECONDS} s each (ratio to GET /healthz)")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("  skipped: wrk is not installed (apt-get install wrk)")
        return
    with tempfile.TemporaryDirectory(dir=".") as directory:
        work = Path(directory).resolve()
        _requests_file(work / "requests.tsv")
        (work / "requests.lua").write_text(LUA)
        port = 18000 + os.getpid() % 1000
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "webhook_processor.entrypoints.cli",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(work / "data"),
                "--log-level",
                "warning",
            ],
            env={**os.environ, "WEBHOOK_SECRET_GENERIC": SECRET},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=1).close()  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.1)
            bare_rate, bare_p99 = _wrk(wrk, f"{base}/healthz")
            rate, p99 = _wrk(
                wrk, f"{base}/webhooks/generic", work / "requests.lua", str(work / "requests.tsv")
            )
            stored = json.loads(
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "webhook_processor.entrypoints.cli",
                        "events",
                        "--json",
                        "--limit",
                        str(EVENTS),
                        "--data-dir",
                        str(work / "data"),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"  {'GET /healthz (baseline)':<50} {bare_rate:8.0f} /s  p99 {bare_p99:6.1f} ms  x1.00")
    print(
        f"  {'POST signed event, verified and fsync-stored':<50} {rate:8.0f} /s  p99 {p99:6.1f} ms"
        f"  x{rate / bare_rate:.2f}"
    )
    print(f"  ({len(stored)} distinct events stored)")


if __name__ == "__main__":
    main()
