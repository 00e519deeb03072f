"""A transport for the providers' API clients that answers from a list and records each request."""

from __future__ import annotations

from webhook_processor.reconcile.transport import Response


class Recorded:
    """A transport that answers from a list and records each request."""

    def __init__(self, *answers: Response) -> None:
        self._answers = list(answers)
        self.requests: list[tuple[str, str, dict[str, str], bytes | None]] = []

    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> Response:
        self.requests.append((method, url, headers, body))
        return self._answers.pop(0)
