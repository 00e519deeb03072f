"""Lambda@Edge on CloudFront's origin request: the body's SHA-256 in ``x-amz-content-sha256``.

With the edge on (``infra/edge.py``), CloudFront signs each request to the receiver's Function
URL with origin access control (SigV4), and the URL answers only signed requests. Lambda does
not take an unsigned payload: a POST must carry its body's hash in ``x-amz-content-sha256``
(CloudFront Developer Guide, "Restrict access to an AWS Lambda function URL origin"), and no
payment provider sends that header. CloudFront gives this function the body (``include_body``,
up to 1 MB), and it adds the header before the request is signed and sent. The receiver itself
still verifies the provider's signature on the same bytes.

Standard library only: Lambda@Edge takes no layers and no environment variables.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Final

HEADER: Final = "x-amz-content-sha256"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The origin request with its body's hash; a 413 if CloudFront cut the body short (the
    hash of a truncated body would not be the hash of what is sent)."""
    request: dict[str, Any] = event["Records"][0]["cf"]["request"]
    body = request.get("body") or {}
    if body.get("inputTruncated"):
        return {
            "status": "413",
            "statusDescription": "Payload Too Large",
            "headers": {"content-type": [{"key": "Content-Type", "value": "application/json"}]},
            "body": '{"error": "payload_too_large", "detail": "body is larger than 1 MB"}',
        }
    data = body.get("data") or ""
    raw = base64.b64decode(data) if body.get("encoding") == "base64" else data.encode("utf-8")
    request["headers"][HEADER] = [{"key": HEADER, "value": hashlib.sha256(raw).hexdigest()}]
    return request
