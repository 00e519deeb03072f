"""The load baseline: a bare Starlette endpoint on uvicorn that reads the POST body and answers
200, run as ``python -m bench.bare_endpoint PORT`` with the server settings ``serve`` uses."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def receive(request: Request) -> Response:
    await request.body()
    return Response(b'{"status":"accepted"}', 200, media_type="application/json")


app = Starlette(routes=[Route("/webhooks/{provider}", receive, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
    )
