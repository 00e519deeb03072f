"""Where the local processor's signing secrets come from: the environment or a local file.

Locally, ``WEBHOOK_SECRET_<PROVIDER>`` (e.g. ``WEBHOOK_SECRET_STRIPE``) wins. Otherwise the
secret comes from ``<data-dir>/secrets.json`` (mode 0600), which ``serve`` fills with fresh
development secrets on first run so that ``webhook-processor send`` can sign events exactly as
the provider would. Secret values are never logged or printed by the processor.

Rotation: :mod:`webhook_processor.signing_secrets`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from webhook_processor.codec import json_kind
from webhook_processor.errors import SecretUnavailable
from webhook_processor.providers.base import Provider
from webhook_processor.signing_secrets import active_secrets

ENV_PREFIX = "WEBHOOK_SECRET_"
#: A provider's events-API key (``reconcile``): ``WEBHOOK_API_KEY_STRIPE``, or the file's
#: ``"api_keys": {"stripe": "rk_..."}``.
API_KEY_PREFIX = "WEBHOOK_API_KEY_"


def env_name(provider: str) -> str:
    return ENV_PREFIX + provider.upper()


class LocalSecrets:
    """The SecretSource of the local processor.

    The file is looked at again at most every ``ttl_seconds`` (a ``stat``; re-read only if it
    changed), so a secret rotated in it is used within that time, without a restart.
    """

    def __init__(
        self,
        path: Path,
        environ: Mapping[str, str] | None = None,
        *,
        ttl_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._environ = os.environ if environ is None else environ
        self._file: dict[str, object] | None = None
        self._ttl = ttl_seconds
        self._clock = clock
        self._checked_at = 0.0
        self._version: tuple[int, int] | None = None

    def active(self, provider: str) -> tuple[str, ...]:
        """The provider's active secrets, from the environment or else the secrets file."""
        from_env = self._environ.get(env_name(provider))
        if from_env:
            return active_secrets(from_env, env_name(provider))
        value = self._load().get(provider)
        if value is None or value == "":
            raise SecretUnavailable(
                f"no secret for {provider}: set {env_name(provider)} or run "
                f"'webhook-processor serve' once to generate {self.path}"
            )
        if not isinstance(value, str):
            raise SecretUnavailable(
                f"{self.path} [{provider!r}] is {json_kind(value)}, not a string: "
                "write the secret as text"
            )
        return active_secrets(value, f"{self.path} [{provider!r}]")

    def api_key(self, provider: str) -> str | None:
        """The provider's events-API key, from the environment or else the secrets file's
        ``api_keys`` object; None if neither has one."""
        name = API_KEY_PREFIX + provider.upper()
        value = self._environ.get(name, "").strip()
        if value:
            return value
        if not self.path.exists():
            return None
        keys = self._read_document().get("api_keys", {})
        if not isinstance(keys, dict):
            raise SecretUnavailable(f"{self.path} 'api_keys' must be an object of provider: key")
        key = keys.get(provider)
        if key is None:
            return None
        if not isinstance(key, str) or not key.strip():
            raise SecretUnavailable(
                f"{self.path} api_keys[{provider!r}] must be a non-empty string"
            )
        return key.strip()

    def ensure(self, providers: Mapping[str, Provider]) -> list[str]:
        """Generate a secret for every provider that has none; return the names generated."""
        current = self._load()
        missing = [
            name
            for name in providers
            if not self._environ.get(env_name(name)) and name not in current
        ]
        if missing:
            # The whole document, so that what else it holds (its api_keys) is kept.
            kept = self._read_document() if self.path.exists() else {}
            updated = {**kept, **{name: providers[name].new_secret() for name in missing}}
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(updated, handle, indent=2, sort_keys=True)
            temporary.replace(self.path)
            self._file = None  # read back, with the file's new version
        return missing

    def _load(self) -> dict[str, object]:
        now = self._clock()
        if self._file is not None and now - self._checked_at < self._ttl:
            return self._file
        self._checked_at = now
        try:
            stat = self.path.stat()
            version: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            version = None
        except OSError as exc:
            raise SecretUnavailable(f"cannot read {self.path}: {exc}") from exc
        if self._file is None or version != self._version:
            self._file = self._read() if version is not None else {}
            self._version = version
        return self._file

    def _read(self) -> dict[str, object]:
        """The provider secrets as the file holds them: a value that is not text is kept as
        it is, so that :meth:`active` refuses it rather than a number becoming a key."""
        return {k: v for k, v in self._read_document().items() if k != "api_keys"}

    def _read_document(self) -> dict[str, object]:
        try:
            loaded = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise SecretUnavailable(f"cannot read {self.path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SecretUnavailable(f"{self.path} must hold a JSON object")
        return loaded
