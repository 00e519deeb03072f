"""The ``stack`` fixture: the deployed stack the suite checks, emulated or real.

``make test`` deploys the real program into a moto server (``emulator.py``). ``make
test-deployed`` (``WEBHOOK_DEPLOYED_TARGET=real``) checks a real stack instead: point
``WEBHOOK_STACK_OUTPUTS`` at ``pulumi stack output --json --show-secrets`` of it and give AWS
credentials (an operator's: the documented operator policy (docs/policies/operator.json) plus read access to the resources).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployed.target import EmulatedStack, RealStack, Stack
from tools.package_lambda import build

UV = str(Path(sys.executable).parent / "uv")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if os.environ.get("WEBHOOK_DEPLOYED_TARGET") == "real":
        outputs = os.environ.get("WEBHOOK_STACK_OUTPUTS")
        if not outputs:
            pytest.skip(
                "no real stack given: set WEBHOOK_STACK_OUTPUTS to the file of "
                "'pulumi stack output --json --show-secrets' and give AWS credentials"
            )
        real = RealStack.from_outputs(Path(outputs))
        if real.credentials_missing():
            pytest.skip(
                "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )
        yield real
        return
    artifact = tmp_path_factory.mktemp("artifact") / "lambda.zip"
    build(artifact, UV)
    emulated = EmulatedStack.deploy(artifact)
    yield emulated
    emulated.close()
