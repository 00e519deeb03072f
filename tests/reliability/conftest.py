"""The reliability suite: property tests over every provider, SIGKILL under load, faults.

Its bounds (examples per provider, rounds, requests) are set so that the whole suite takes a
few minutes on two cores; ``RELIABILITY_EXAMPLES`` raises the examples for a longer run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: At least 2,000 examples per provider in CI, as the reliability requirements ask.
EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "2000"))

settings.register_profile(
    "reliability",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never flakes on a new one
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
