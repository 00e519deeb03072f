"""Each provider's own library as the test oracle, one module per provider.

``tests/oracles/<provider>.py`` signs a body exactly as that provider does, with the provider's
official library where one exists: the processor must accept what it produces. Each module
defines ``SECRET`` (a signing secret in the provider's format) and
``sign(body, *, at, secret, message_id) -> (body, headers)`` (the body changes only for
providers that sign inside it), and ``verdict(body, headers, secret) -> bool``: whether the
library accepts a delivery (``tests/unit/providers/test_signature_headers.py``). Modules are found by provider name, so adding a provider adds a
module here and touches nothing else.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Protocol, cast


class Oracle(Protocol):
    SECRET: str

    def sign(
        self, body: bytes, *, at: datetime, secret: str, message_id: str
    ) -> tuple[bytes, dict[str, str]]: ...

    def verdict(self, body: bytes, headers: dict[str, str], secret: str) -> bool: ...


def oracle(provider: str) -> Oracle:
    """The oracle module of ``provider``."""
    return cast(Oracle, importlib.import_module(f"tests.oracles.{provider}"))
