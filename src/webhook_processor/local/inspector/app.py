"""The inspector's routes beside the webhook route: ``GET /``, its assets, its JSON API.

``/`` is one HTML page; ``/inspector/assets/{name}`` its script and style sheet (package data,
read once at start); ``/inspector/api/{name}`` the JSON API (:mod:`.api`). Every request is
checked by :class:`~.access.Access` first, every POST for its origin too. The page loads
nothing from anywhere else, and its Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from webhook_processor.errors import MethodNotAllowed, NotFound, WebhookError
from webhook_processor.local.bootstrap import LocalProcessor
from webhook_processor.local.inspector import params
from webhook_processor.local.inspector.access import Access
from webhook_processor.local.inspector.api import Api
from webhook_processor.responses import error_response, internal_error_response

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Response = tuple[int, dict[str, str], bytes]
BodyReader = Callable[[int], Awaitable[bytes]]

API: Final = "/inspector/api/"
ASSETS: Final = "/inspector/assets/"
_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: Everything the page uses comes from this server; nothing may frame it.
_SECURITY: Final = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def handles(path: str) -> bool:
    """Whether ``path`` is the inspector's."""
    return path == "/" or path.startswith("/inspector/")


class Inspector:
    """Answers the requests of :func:`handles` paths; the server sends the answers."""

    def __init__(self, processor: LocalProcessor) -> None:
        bound = urllib.parse.urlsplit(processor.config.base_url)
        self.access = Access(bound.hostname or "", processor.config.inspector_token, bound.port)
        self._api = Api(processor)
        files = importlib.resources.files("webhook_processor.local.inspector") / "assets"
        self._assets = {
            item.name: item.read_bytes() for item in files.iterdir() if item.name[0] != "."
        }

    async def answer(self, scope: Scope, read_body: BodyReader) -> Response:
        """The response to one request; ``read_body(limit)`` reads its body, refusing more."""
        try:
            response = await self._answer(scope, read_body)
        except WebhookError as error:
            response = error_response(error)
        except Exception:
            log.exception("inspector: unexpected error")
            response = internal_error_response()
        status, headers, content = response
        return status, {**_SECURITY, **headers}, content

    async def status(self, scope: Scope) -> Response:
        """``GET /status``: 200 while every provider is sending as usual, 503 while one needs
        a person; to the inspector's callers only (loopback, or its token)."""
        try:
            headers = {
                name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
            }
            self.access.check(headers)
            document = await self._api.read("status", b"")
            response = _json(200 if document["status"] == "ok" else 503, document)
        except WebhookError as error:
            response = error_response(error)
        status, headers, content = response
        return status, {**_SECURITY, **headers}, content

    async def _answer(self, scope: Scope, read_body: BodyReader) -> Response:
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        query_token = None
        if path == "/" and method == "GET":
            raw_query = scope.get("query_string", b"")
            query_token = params.query(raw_query, {"token": params.text(256)}).get("token")
        self.access.check(headers, query_token)
        if path == "/":
            _only(method, "GET", path)
            if query_token is not None and self.access.is_token(query_token):
                # Kept in a cookie from now on, and out of the address bar and history.
                return 303, {"location": "/", "set-cookie": self.access.token_cookie()}, b""
            return self._asset("index.html")
        if path.startswith(ASSETS):
            _only(method, "GET", path)
            return self._asset(path[len(ASSETS) :])
        name = path[len(API) :].removesuffix("/") if path.startswith(API) else ""
        if name in self._api.reads:
            _only(method, "GET", path)
            self.access.check_read(headers)
            answer = await self._api.read(name, scope.get("query_string", b""))
            return _json(200, answer)
        if name in self._api.actions:
            _only(method, "POST", path)
            self.access.check_write(headers, scope.get("scheme", "http"))
            body = params.json_body(
                await read_body(params.MAX_BODY_BYTES), headers.get("content-type")
            )
            status, answer = await self._api.actions[name](body)
            return _json(status, answer)
        raise NotFound(f"no route {path[:100]!r}")

    def _asset(self, name: str) -> Response:
        content = self._assets.get(name)
        suffix = name[name.rfind(".") :] if "." in name else ""
        if content is None or suffix not in _TYPES:
            raise NotFound(f"no asset {name[:100]!r}")
        return 200, {"content-type": _TYPES[suffix]}, content


def _only(method: str, allowed: str, path: str) -> None:
    if method != allowed:
        raise MethodNotAllowed(method, allowed, f"{path[:100]} takes {allowed}, not {method}")


def _json(status: int, value: Any) -> Response:
    content = json.dumps(value, separators=(",", ":")).encode()
    return status, {"content-type": "application/json"}, content
