"""The SDK's errors, mapped at the adapter boundary: one context manager per service."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError

from webhook_processor.errors import StorageUnavailable


@contextlib.contextmanager
def dynamodb_errors(what: str) -> Iterator[None]:
    """Map the SDK's errors to :class:`StorageUnavailable`, naming the DynamoDB call that
    failed."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', 'unknown')}: {error.get('Message', '')}"
        raise StorageUnavailable(f"DynamoDB {what} failed: {detail}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"DynamoDB {what} failed: {exc}") from exc
