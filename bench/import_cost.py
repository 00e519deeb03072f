"""Cold-start cost of the Lambda handler modules, next to boto3 plus one client.

Each statement runs in a fresh interpreter (as a cold Lambda container does), several times;
the minimum wall time of the statement itself is reported, with its ratio to the baseline
``import boto3; boto3.client("dynamodb")`` measured in the same run. ``-X importtime`` gives
the cumulative import time of each handler module as Python itself accounts it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

RUNS = 7
BASELINE = "import boto3; boto3.client('dynamodb')"
STATEMENTS = {
    "import boto3 + one client (baseline)": BASELINE,
    "import lambda_handler": "import webhook_processor.entrypoints.lambda_handler",
    "import publisher_handler": "import webhook_processor.entrypoints.publisher_handler",
    "lambda_handler import + build clients (first invocation)": (
        "import os, webhook_processor.entrypoints.lambda_handler; "
        "from webhook_processor.bootstrap import AwsConfig, build_receiver; "
        "build_receiver(AwsConfig.from_environ(os.environ))"
    ),
    "X-Ray Tracer() (first invocation, when tracing is on)": (
        "from aws_lambda_powertools import Tracer; Tracer()"
    ),
}
ENV = {
    **os.environ,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TABLE_NAME": "bench",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
}
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


def importtime_us(module: str) -> int:
    """Cumulative microseconds of ``module`` in ``-X importtime`` (minimum over runs)."""
    best = None
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
        value = int(match.group(1))
        best = value if best is None else min(best, value)
    assert best is not None
    return best


def module_count(statement: str) -> int:
    """How many modules a fresh interpreter holds after ``statement``."""
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; {statement}; print(len(sys.modules))"],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    ).stdout
    return int(out)


def main() -> None:
    print(f"import cost (fresh interpreter, min of {RUNS} runs; ratio to the baseline)")
    baseline = wall_seconds(BASELINE)
    for label, statement in STATEMENTS.items():
        seconds = baseline if statement == BASELINE else wall_seconds(statement)
        print(f"  {label:<58} {seconds * 1000:7.1f} ms  x{seconds / baseline:.2f}")
    for module in (
        "boto3",
        "webhook_processor.entrypoints.lambda_handler",
        "webhook_processor.entrypoints.publisher_handler",
    ):
        print(f"  -X importtime cumulative {module:<46} {importtime_us(module) / 1000:7.1f} ms")
    for handler in ("lambda_handler", "publisher_handler"):
        count = module_count(f"import webhook_processor.entrypoints.{handler}")
        print(f"  modules loaded by import {handler:<46} {count:7d}")


if __name__ == "__main__":
    main()
