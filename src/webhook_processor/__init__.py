"""webhook-processor: verify, normalise, store and publish payment-provider webhooks.

The core (this package minus ``entrypoints``) knows nothing of HTTP frameworks, SQLite details
or AWS: entry points build a :class:`Pipeline` in one composition root and feed it
:class:`WebhookRequest` objects.
"""

from webhook_processor.errors import WebhookError
from webhook_processor.model import (
    Disposition,
    Outcome,
    PaymentEvent,
    PaymentStatus,
    WebhookRequest,
)
from webhook_processor.pipeline import Pipeline

__all__ = [
    "Disposition",
    "Outcome",
    "PaymentEvent",
    "PaymentStatus",
    "Pipeline",
    "WebhookError",
    "WebhookRequest",
]
