"""Who the inspector answers: safe by default.

* Without an access token the page and its API are served only by a server bound to loopback,
  and only to requests whose ``Host`` names loopback: a page elsewhere that rebinds its own
  domain name to 127.0.0.1 (DNS rebinding) still sends its own name as ``Host``, and is refused.
* With a token (``serve --inspector-token`` or ``WEBHOOK_INSPECTOR_TOKEN``), every request must
  carry it, bound anywhere: ``GET /?token=...`` once, which sets it as a ``SameSite=Strict``,
  ``HttpOnly`` cookie and sends the browser on to ``/``; scripts send
  ``Authorization: Bearer ...``. It is compared in constant time.
* A request that changes something (a POST) must also come from the page itself: its
  ``Origin`` must be the server's own (which a browser always sends on a POST and a cross-site
  page cannot forge), and its body JSON, which a cross-site form cannot send.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from webhook_processor.errors import Forbidden

#: The cookie that carries the token after ``GET /?token=...``.
COOKIE: Final = "webhook_inspector"
_TOKEN: Final = re.compile(r"[A-Za-z0-9._~-]{16,256}")
TOKEN_RULE: Final = "16 to 256 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-'"  # noqa: S105


def check_token(text: str) -> str:
    """``text`` if it is a usable access token; ValueError saying what one is otherwise."""
    if not _TOKEN.fullmatch(text):
        raise ValueError(f"the inspector token must be {TOKEN_RULE} (got {len(text)} characters)")
    return text


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, without port) is this machine's loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """The inspector's access rule for a server bound to ``bind_host``."""

    bind_host: str
    token: str | None = None

    def check(self, headers: Mapping[str, str], query_token: str | None = None) -> None:
        """Raise Forbidden unless this request may read the inspector."""
        if self.token is not None:
            if not any(self._is_token(given) for given in _offered(headers, query_token)):
                raise Forbidden(
                    "this inspector needs its access token: open /?token=... once, or send "
                    "'Authorization: Bearer ...'"
                )
            return
        if not is_loopback(self.bind_host):
            raise Forbidden(
                f"the inspector is served on loopback only, and this server is bound to "
                f"{self.bind_host[:100]}: set --inspector-token (or WEBHOOK_INSPECTOR_TOKEN) to "
                "serve it here to those who have the token"
            )
        host = _hostname(headers.get("host", ""))
        if host is None or not is_loopback(host):
            raise Forbidden(
                "the inspector answers requests for a loopback host only (127.0.0.1, [::1], "
                "localhost), not for the Host this request names"
            )

    def check_write(self, headers: Mapping[str, str], scheme: str) -> None:
        """Raise Forbidden unless this state-changing request comes from the page itself."""
        origin = headers.get("origin")
        if origin is None:
            raise Forbidden(
                "a request that changes something must carry the Origin of this server "
                "(browsers send it); cross-site requests are refused"
            )
        own = f"{scheme}://{headers.get('host', '')}"
        if not hmac.compare_digest(origin.lower().encode(), own.lower().encode()):
            raise Forbidden(
                f"cross-site request refused: Origin {origin[:100]!r} is not this server's"
            )
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise Forbidden("cross-site request refused: the browser says it is not same-origin")

    def _is_token(self, given: str) -> bool:
        assert self.token is not None  # noqa: S101 - only called when a token is configured
        return hmac.compare_digest(given.encode(), self.token.encode())


def _offered(headers: Mapping[str, str], query_token: str | None) -> list[str]:
    """Every token the request offers: in the query, the Authorization header, the cookie."""
    offered = [] if query_token is None else [query_token]
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        offered.append(credentials.strip())
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            offered.append(value)
    return offered


def _hostname(host: str) -> str | None:
    """The name in a ``Host`` header, without its port; None if it is not one."""
    try:
        return urllib.parse.urlsplit(f"//{host}").hostname
    except ValueError:
        return None


def token_cookie(token: str) -> str:
    """The ``Set-Cookie`` value that keeps the token in this browser for this server."""
    return f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
