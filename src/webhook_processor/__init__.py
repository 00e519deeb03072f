"""webhook-processor: verify, normalise, store and publish payment-provider webhooks.

The core (this package minus its two wings, ``aws`` and ``local``, and the ``cli`` over them)
knows nothing of HTTP frameworks, SQLite or AWS: each wing builds a :class:`Pipeline` in its
composition root (``aws.bootstrap``, ``local.bootstrap``) and feeds it :class:`WebhookRequest`
objects.

The public names below are imported on first use, so that importing one module of the package
(a Lambda handler, say) does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webhook_processor.errors import WebhookError
    from webhook_processor.model import (
        Disposition,
        Outcome,
        PaymentEvent,
        PaymentStatus,
        WebhookRequest,
    )
    from webhook_processor.pipeline import Pipeline

_HOMES = {
    "Disposition": "webhook_processor.model",
    "Outcome": "webhook_processor.model",
    "PaymentEvent": "webhook_processor.model",
    "PaymentStatus": "webhook_processor.model",
    "Pipeline": "webhook_processor.pipeline",
    "WebhookError": "webhook_processor.errors",
    "WebhookRequest": "webhook_processor.model",
}

__all__ = [
    "Disposition",
    "Outcome",
    "PaymentEvent",
    "PaymentStatus",
    "Pipeline",
    "WebhookError",
    "WebhookRequest",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'webhook_processor' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
