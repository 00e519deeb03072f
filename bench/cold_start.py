"""Cold start on Lambda: import + first invocation, as the deployed functions run them.

Each statement runs in a fresh interpreter, as a cold container does, several times; the
minimum wall time of the statement is reported with its ratio to the baseline
``import boto3; boto3.client("dynamodb")`` measured in the same run. The environment is a
Lambda's with Active tracing (the X-Ray tracer on, a trace header, a daemon address on
loopback that nothing listens on). ``-X importtime`` and module counts show where it goes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

RUNS = 7
TARGET = 1.5
BASELINE = "import boto3; boto3.client('dynamodb')"
PROBE = "from bench import cold_start_probe; cold_start_probe.{}()"
STATEMENTS = {
    "receiver: import + first invocation": PROBE.format("receiver"),
    "publisher: import + first invocation": PROBE.format("publisher"),
}
ENV = {
    **os.environ,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TABLE_NAME": "bench",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench",
    "PUBLISH_FAILURES_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-failures",
    "SECRETS_PATH": "/bench/secrets",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "LAMBDA_TASK_ROOT": os.getcwd(),
    "_X_AMZN_TRACE_ID": (
        "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
}
ENV.pop("POWERTOOLS_TRACE_DISABLED", None)
TIMER = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def wall_seconds(statement: str) -> float:
    times = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", TIMER.format(stmt=statement)],
            capture_output=True,
            text=True,
            env=ENV,
            check=True,
        ).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return min(times)


def importtime_ms(module: str) -> float:
    """Cumulative milliseconds of ``module`` in ``-X importtime`` (minimum over runs)."""
    best = float("inf")
    for _ in range(RUNS):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            env=ENV,
            check=True,
        ).stderr
        match = re.search(rf"\|\s+(\d+) \|\s*{re.escape(module)}$", err, re.MULTILINE)
        assert match, f"{module} not in -X importtime output"
        best = min(best, int(match.group(1)) / 1000)
    return best


def main() -> dict[str, Any]:
    print(
        f"Lambda cold start (fresh interpreter, X-Ray tracer on, min of {RUNS}; "
        f"ratio to import boto3 + one client; target x{TARGET})"
    )
    baseline = wall_seconds(BASELINE)
    print(f"  {'import boto3 + one client (baseline)':<46} {baseline * 1000:7.1f} ms  x1.00")
    results: dict[str, Any] = {"baseline_ms": baseline * 1000, "target": TARGET}
    for label, statement in STATEMENTS.items():
        seconds = wall_seconds(statement)
        ratio = seconds / baseline
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(f"  {label:<46} {seconds * 1000:7.1f} ms  x{ratio:.2f}  {verdict}")
        results[label] = {"ms": seconds * 1000, "ratio": ratio}
    for module in ("aws_xray_sdk.core", "aws_lambda_powertools.tracing.tracer"):
        print(f"  of which -X importtime {module:<34} {importtime_ms(module):7.1f} ms")
    return results


if __name__ == "__main__":
    main()
