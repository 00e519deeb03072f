"""Rotation, the same everywhere: a configured secret value may hold several active secrets
separated by commas (``whsec_new,whsec_old``), at most
:data:`~webhook_processor.limits.MAX_ACTIVE_SECRETS`; a delivery signed with any of them
passes, and ``send`` signs with the first. Where the values come from is each wing's:
:mod:`webhook_processor.local.secrets` (environment, then a file) and
:mod:`webhook_processor.aws.secrets` (SSM SecureStrings). Secret values are never logged or
printed by the processor.
"""

from __future__ import annotations

from webhook_processor.errors import SecretUnavailable
from webhook_processor.limits import MAX_ACTIVE_SECRETS


def active_secrets(value: str, where: str) -> tuple[str, ...]:
    """The active secrets in a configured value: comma-separated, the current one first."""
    active = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not active:
        raise SecretUnavailable(f"{where} holds no secret")
    if len(active) > MAX_ACTIVE_SECRETS:
        raise SecretUnavailable(
            f"{where} holds {len(active)} secrets; at most {MAX_ACTIVE_SECRETS} may be active "
            "(remove the ones the provider no longer signs with)"
        )
    return active
