"""What a cold Lambda container runs first, for ``bench.cold_start`` to time in a fresh
interpreter: the handler's import and its first invocation, which builds the AWS clients and the
X-Ray tracer. The request is one the receiver answers without calling AWS (an unknown route,
after it built its DynamoDB and SSM clients), so nothing leaves the machine; the publisher gets
an empty batch and builds its SNS client as its first real batch would (its table and queue
clients are made on its first hand-off)."""

from __future__ import annotations

from typing import Any


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "c1f2e3d4-a5b6-47c8-9d0e-1f2a3b4c5d6e"


def receiver() -> dict[str, Any]:
    from webhook_processor.aws.handlers import receiver

    event = {
        "rawPath": "/bench",
        "headers": {},
        "body": "",
        "requestContext": {"http": {"method": "POST", "path": "/bench"}, "domainName": "x"},
    }
    context: Any = _Context()
    response: dict[str, Any] = receiver.handler(event, context)
    assert response["statusCode"] == 404, response  # the receiver and its clients were built
    return response


def publisher() -> dict[str, Any]:
    from webhook_processor.aws.handlers import publisher

    context: Any = _Context()
    # The first invocation builds the publisher (its SNS client), as a first real batch does.
    response: dict[str, Any] = publisher.handler({"Records": []}, context)
    return response
