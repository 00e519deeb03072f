"""localstripe, the stateful Stripe emulator, on loopback only: ``python -m
tests.support.localstripe_server PORT``.

Its own command listens on every interface and saves its whole store to one file in ``/tmp``
after every write (shared by every instance on the machine, and slower as the store grows): here
it listens on 127.0.0.1 and keeps its state in memory, which is all a test needs.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def _in_memory_only(self: resources.Store) -> None:
    """The store is not written to disk."""


def main() -> None:
    resources.Store.dump_to_disk = _in_memory_only  # type: ignore[method-assign]
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
