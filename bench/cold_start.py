"""Cold start on Lambda: import + first invocation, as the deployed functions run them.

Each statement runs in a fresh interpreter, as a cold container does, several rounds; in each
round the baseline ``import boto3; boto3.client("dynamodb")`` and every statement run once in
turn, so a slow spell of the machine hits them alike. The minimum and median wall times are
reported, with the medians' ratio to the baseline's. The environment is a Lambda's with Active
tracing (a sampled trace header, the X-Ray endpoint on loopback, where nothing listens), so
the functions build and send their spans as they do deployed. ``-X importtime`` shows what the
tracing module costs.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from typing import Any

RUNS = 9
TARGET = 1.3
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
    """One fresh interpreter's seconds for ``statement``."""
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(stmt=statement)],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def rounds(statements: dict[str, str], runs: int = RUNS) -> dict[str, list[float]]:
    """Each statement's seconds over ``runs`` rounds, the statements in turn in each."""
    times: dict[str, list[float]] = {label: [] for label in statements}
    for _ in range(runs):
        for label, statement in statements.items():
            times[label].append(wall_seconds(statement))
    return times


def importtime_ms(module: str) -> float:
    """Cumulative milliseconds of ``module`` in ``-X importtime`` (minimum over runs)."""
    best = float("inf")
    for _ in range(RUNS):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import boto3; import {module}"],
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
        f"Lambda cold start (fresh interpreter, tracing on, {RUNS} rounds; "
        f"median's ratio to import boto3 + one client; target x{TARGET})"
    )
    baseline_label = "import boto3 + one client (baseline)"
    times = rounds({baseline_label: BASELINE, **STATEMENTS})
    baseline = statistics.median(times[baseline_label])
    results: dict[str, Any] = {"baseline_ms": baseline * 1000, "target": TARGET}
    print(f"  {'':<46} {'min':>9} {'median':>9}")
    for label, seconds in times.items():
        median = statistics.median(seconds)
        ratio = median / baseline
        verdict = "" if label == baseline_label else ("met" if ratio <= TARGET else "MISSED")
        print(
            f"  {label:<46} {min(seconds) * 1000:6.1f} ms {median * 1000:6.1f} ms"
            f"  x{ratio:.2f}  {verdict}"
        )
        results[label] = {"min_ms": min(seconds) * 1000, "ms": median * 1000, "ratio": ratio}
    module = "webhook_processor.aws.tracing"
    print(f"  of which -X importtime {module:<34} {importtime_ms(module):7.1f} ms (after boto3)")
    return results


if __name__ == "__main__":
    main()
