"""The Lambda@Edge function: it adds the hash origin access control needs, of the exact bytes."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from webhook_processor.aws.handlers.edge import handler

BODY = b'{"id":"evt_1","amount":1999}'


def origin_request(body: dict[str, Any] | None) -> dict[str, Any]:
    """An origin-request event as CloudFront sends it with include_body on."""
    request: dict[str, Any] = {
        "method": "POST",
        "uri": "/webhooks/stripe",
        "headers": {"stripe-signature": [{"key": "Stripe-Signature", "value": "t=1,v1=ab"}]},
    }
    if body is not None:
        request["body"] = body
    return {"Records": [{"cf": {"config": {"eventType": "origin-request"}, "request": request}}]}


def test_the_body_hash_is_added_and_every_other_header_kept() -> None:
    encoded = base64.b64encode(BODY).decode()
    event = origin_request(
        {"inputTruncated": False, "action": "read-only", "encoding": "base64", "data": encoded}
    )
    request = handler(event, None)
    assert request["headers"]["x-amz-content-sha256"] == [
        {"key": "x-amz-content-sha256", "value": hashlib.sha256(BODY).hexdigest()}
    ]
    assert request["headers"]["stripe-signature"][0]["value"] == "t=1,v1=ab"
    assert request["body"]["data"] == encoded  # the body goes on untouched


def test_a_text_body_and_no_body_are_hashed_too() -> None:
    text = handler(origin_request({"encoding": "text", "data": BODY.decode()}), None)
    assert text["headers"]["x-amz-content-sha256"][0]["value"] == hashlib.sha256(BODY).hexdigest()
    empty = handler(origin_request(None), None)
    assert empty["headers"]["x-amz-content-sha256"][0]["value"] == hashlib.sha256(b"").hexdigest()


def test_a_body_cloudfront_cut_short_is_refused_at_the_edge() -> None:
    response = handler(
        origin_request({"inputTruncated": True, "encoding": "base64", "data": ""}), None
    )
    assert response["status"] == "413"
    assert "payload_too_large" in response["body"]
