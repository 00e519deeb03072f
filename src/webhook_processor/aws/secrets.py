"""The signing secrets on AWS: each provider's secret is an SSM SecureString
``{path}/{provider}``, decrypted and cached by Powertools for a TTL, so a rotated secret is
picked up within one TTL (rotation: :mod:`webhook_processor.signing_secrets`). The events APIs'
keys (:class:`SsmApiKeys`) are SecureStrings too, read and cached the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from webhook_processor.errors import ProviderNotConfigured, SecretUnavailable
from webhook_processor.signing_secrets import active_secrets

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider


class SsmSecrets:
    """The SecretSource on AWS: one SecureString per provider under ``path``."""

    def __init__(self, path: str, parameters: SSMProvider, ttl_seconds: int = 300) -> None:
        self.path = path.rstrip("/")
        self._parameters = parameters
        self._ttl = ttl_seconds

    def parameter_name(self, provider: str) -> str:
        return f"{self.path}/{provider}"

    def active(self, provider: str) -> tuple[str, ...]:
        """The provider's active secrets, from its (cached) SecureString."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        name = self.parameter_name(provider)
        try:
            value = self._parameters.get(name, max_age=self._ttl, decrypt=True)
        except GetParameterError as exc:
            raise SecretUnavailable(f"cannot read SSM parameter {name}: {exc}") from exc
        if not isinstance(value, str) or not value:
            raise SecretUnavailable(f"SSM parameter {name} is empty")
        return active_secrets(value, f"SSM parameter {name}")


class SsmApiKeys:
    """Each provider's events-API key: the SecureString its parameter names (``parameters``,
    provider -> parameter name), decrypted and cached for ``ttl_seconds``. A key is never
    logged, and no message here includes it."""

    def __init__(
        self, parameters: Mapping[str, str], provider: SSMProvider, ttl_seconds: int = 300
    ) -> None:
        self.parameters = dict(parameters)
        self._provider = provider
        self._ttl = ttl_seconds

    def key(self, provider: str) -> str:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        name = self.parameters.get(provider)
        if name is None:
            raise ProviderNotConfigured(f"no API key parameter for {provider}")
        try:
            value = self._provider.get(name, max_age=self._ttl, decrypt=True)
        except GetParameterError as exc:
            raise SecretUnavailable(f"cannot read SSM parameter {name}: {exc}") from exc
        if not isinstance(value, str) or not value.strip():
            raise SecretUnavailable(f"SSM parameter {name} is empty")
        return value.strip()
