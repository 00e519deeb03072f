"""The signing secrets on AWS: each provider's secret is an SSM SecureString
``{path}/{provider}``, decrypted and cached for a TTL (:class:`SsmParameters`), so a rotated
secret is picked up within one TTL (rotation: :mod:`webhook_processor.signing_secrets`). The
events APIs' keys (:class:`SsmApiKeys`) are SecureStrings too, read and cached the same way."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from webhook_processor.errors import ProviderNotConfigured, SecretUnavailable
from webhook_processor.signing_secrets import active_secrets

if TYPE_CHECKING:
    from typing import Protocol

    class Parameters(Protocol):
        def get(self, name: str, max_age: int, decrypt: bool) -> object: ...


class ParameterError(Exception):
    """An SSM parameter could not be read (missing, access denied, SSM unreachable)."""


class SsmParameters:
    """SSM parameters by name, each cached for the ``max_age`` it was read with.

    What Powertools' ``SSMProvider`` did here, in the few lines these functions use: importing
    its parameters utility took 10-12 ms of every cold start.
    """

    def __init__(self, client: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._cache: dict[tuple[str, bool], tuple[str, float]] = {}

    def get(self, name: str, max_age: int, decrypt: bool) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        now = self._clock()
        cached = self._cache.get((name, decrypt))
        if cached is not None and now < cached[1]:
            return cached[0]
        try:
            answer = self._client.get_parameter(Name=name, WithDecryption=decrypt)
        except (BotoCoreError, ClientError) as exc:
            raise ParameterError(str(exc)) from exc
        value: str = answer["Parameter"]["Value"]
        self._cache[(name, decrypt)] = (value, now + max_age)
        return value


class SsmSecrets:
    """The SecretSource on AWS: one SecureString per provider under ``path``."""

    def __init__(self, path: str, parameters: Parameters, ttl_seconds: int = 300) -> None:
        self.path = path.rstrip("/")
        self._parameters = parameters
        self._ttl = ttl_seconds

    def parameter_name(self, provider: str) -> str:
        return f"{self.path}/{provider}"

    def active(self, provider: str) -> tuple[str, ...]:
        """The provider's active secrets, from its (cached) SecureString."""
        name = self.parameter_name(provider)
        try:
            value = self._parameters.get(name, max_age=self._ttl, decrypt=True)
        except ParameterError as exc:
            raise SecretUnavailable(f"cannot read SSM parameter {name}: {exc}") from exc
        if not isinstance(value, str) or not value:
            raise SecretUnavailable(f"SSM parameter {name} is empty")
        return active_secrets(value, f"SSM parameter {name}")


class SsmApiKeys:
    """Each provider's events-API key: the SecureString its parameter names (``parameters``,
    provider -> parameter name), decrypted and cached for ``ttl_seconds``. A key is never
    logged, and no message here includes it."""

    def __init__(
        self, parameters: Mapping[str, str], provider: Parameters, ttl_seconds: int = 300
    ) -> None:
        self.parameters = dict(parameters)
        self._provider = provider
        self._ttl = ttl_seconds

    def key(self, provider: str) -> str:
        name = self.parameters.get(provider)
        if name is None:
            raise ProviderNotConfigured(f"no API key parameter for {provider}")
        try:
            value = self._provider.get(name, max_age=self._ttl, decrypt=True)
        except ParameterError as exc:
            raise SecretUnavailable(f"cannot read SSM parameter {name}: {exc}") from exc
        if not isinstance(value, str) or not value.strip():
            raise SecretUnavailable(f"SSM parameter {name} is empty")
        return value.strip()
