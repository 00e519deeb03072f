"""Who the inspector answers: safe by default.

* Without an access token the page and its API are served only by a server bound to loopback,
  and only to requests whose ``Host`` names loopback: a page elsewhere that rebinds its own
  domain name to 127.0.0.1 (DNS rebinding) still sends its own name as ``Host``, and is refused.
  A request that came through a proxy (``Forwarded``, ``X-Forwarded-*``, ``X-Real-IP``,
  ``Via``) is refused too: a reverse proxy on this machine connects from loopback, and most
  rewrite ``Host`` to the address they proxy to, so loopback alone would let the world in.
* With a token (``serve --inspector-token`` or ``WEBHOOK_INSPECTOR_TOKEN``), every request must
  carry it, bound anywhere: ``GET /?token=...`` once, which sets it as a ``SameSite=Strict``,
  ``HttpOnly`` cookie named after the port (cookies are shared by every port of a host) and
  sends the browser on to ``/``; scripts send ``Authorization: Bearer ...``. It is compared in
  constant time.
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

#: The cookie that carries the token after ``GET /?token=...``, suffixed with the port.
COOKIE: Final = "webhook_inspector"
#: Headers a proxy adds: a request carrying one did not come from this machine's own browser.
PROXY_HEADERS: Final = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "via")
#: A ``Host`` header as browsers send it: a name or an address, and a port.
_HOST: Final = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")
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
    """The inspector's access rule for a server bound to ``bind_host`` on ``port``."""

    bind_host: str
    token: str | None = None
    port: int | None = None

    @property
    def cookie(self) -> str:
        """The name of this server's token cookie."""
        return COOKIE if self.port is None else f"{COOKIE}_{self.port}"

    def check(self, headers: Mapping[str, str], query_token: str | None = None) -> None:
        """Raise Forbidden unless this request may read the inspector."""
        if self.token is not None:
            offered = _offered(headers, query_token, self.cookie)
            if not any(self.is_token(given) for given in offered):
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
        if any(name in headers for name in PROXY_HEADERS):
            raise Forbidden(
                "this request came through a proxy, and without an access token the inspector "
                "is for this machine's own browser only: set --inspector-token (or "
                "WEBHOOK_INSPECTOR_TOKEN) to serve it through a proxy"
            )

    def check_read(self, headers: Mapping[str, str]) -> None:
        """Raise Forbidden for an API read another site's page asked the browser for: it could
        not read the answer, but it could make the server do the work, again and again."""
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise Forbidden("cross-site request refused: the browser says it is not same-origin")

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
        self.check_read(headers)

    def is_token(self, given: str) -> bool:
        """Whether ``given`` is this server's token (False when it has none)."""
        if self.token is None:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())

    def token_cookie(self) -> str:
        """The ``Set-Cookie`` value that keeps the token in this browser for this server."""
        return f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"


def _offered(headers: Mapping[str, str], query_token: str | None, cookie: str) -> list[str]:
    """Every token the request offers: in the query, the Authorization header, the cookie."""
    offered = [] if query_token is None else [query_token]
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        offered.append(credentials.strip())
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == cookie and value:
            offered.append(value)
    return offered


def _hostname(host: str) -> str | None:
    """The name in a ``Host`` header, without its port; None if it is not only that."""
    if not _HOST.fullmatch(host):
        return None
    try:
        return urllib.parse.urlsplit(f"//{host}").hostname
    except ValueError:
        return None
