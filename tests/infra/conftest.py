from __future__ import annotations

import pytest

from tests.infra.harness import Run, run_program

SECRETS = {"stripeSigningSecret": "whsec_stripe_test", "genericSigningSecret": "whsec_Z2VuZXJpYw=="}


@pytest.fixture(scope="session")
def bare() -> Run:
    """The program with NO configuration at all: every default must hold."""
    return run_program({})


@pytest.fixture(scope="session")
def configured() -> Run:
    """The program as a production stack would configure it."""
    return run_program(
        {
            **SECRETS,
            "environmentSuffix": "prod",
            "reservedConcurrency": "50",
            "costCenter": "cc-1234",
            "owner": "payments-team",
        },
        secret_keys=tuple(SECRETS),
        stack="production",
    )
