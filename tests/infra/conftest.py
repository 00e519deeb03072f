from __future__ import annotations

import json

import pytest

from tests.infra.harness import Run, run_program
from tests.support.builders import SECRETS as PROVIDER_SECRETS

#: A signing secret for every provider the application ships, as ``pulumi config set --secret``;
#: Stripe's lists two, as while a secret is rotated.
SECRETS = {f"{provider}SigningSecret": secret for provider, secret in PROVIDER_SECRETS.items()} | {
    "stripeSigningSecret": f"whsec_stripe_new,{PROVIDER_SECRETS['stripe']}"
}
SQUARE_URL = "https://payments.example.com/webhooks/square"
#: The events APIs' keys, as ``pulumi config set --secret --path apiKeys.<provider>`` sets them.
API_KEYS = {"stripe": "rk_live_stripe_reconcile", "square": "EAAAsquare_reconcile"}


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
            "squareNotificationUrl": SQUARE_URL,
            "environmentSuffix": "prod",
            "reservedConcurrency": json.dumps({"receiver": 50, "publisher": 5}),
            "costCenter": "cc-1234",
            "owner": "payments-team",
            "apiKeys": json.dumps(API_KEYS),
        },
        secret_keys=(*SECRETS, "apiKeys"),
        stack="production",
    )
