"""Every malformed invocation of the receiver is a typed refusal, never a traceback.

The shapes come from the two payloads the receiver reads: the Function URL's (payload format
2.0, ``tests/events/function_url_v2.json``), each field it reads replaced by any JSON value the
Lambda runtime's parser can produce (NaN and Infinity included) or removed; and direct
invocations, any JSON value, objects with the fields the original system's payload has. A
Function URL shape must come back as an HTTP answer that is not a 500; a direct one must
return or raise a :class:`~webhook_processor.errors.WebhookError`.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.builders import NOW, SECRETS
from webhook_processor.aws.bootstrap import Receiver
from webhook_processor.aws.handlers import receiver
from webhook_processor.errors import WebhookError
from webhook_processor.pipeline import Pipeline
from webhook_processor.providers import default_providers
from webhook_processor.providers.generic import GenericProvider
from webhook_processor.storage.memory import MemoryStore

TEMPLATE = json.loads((Path(__file__).parents[1] / "events" / "function_url_v2.json").read_text())
#: The fields of a Function URL event the receiver reads (``a.b`` for nested ones).
URL_FIELDS = [
    "requestContext",
    "requestContext.http",
    "requestContext.http.method",
    "requestContext.domainName",
    "rawPath",
    "rawQueryString",
    "headers",
    "headers.content-type",
    "headers.stripe-signature",
    "body",
    "isBase64Encoded",
]
#: The fields of a direct invocation: the original system's payload and the replay form.
DIRECT_FIELDS = [
    "body",
    "headers",
    "provider",
    "event_id",
    "transaction_id",
    "amount",
    "currency",
    "status",
    "customer_id",
    "payment_method",
    "metadata",
]

#: Any value the Lambda runtime's JSON parser can produce.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and +-Infinity too: json.loads takes them
    | st.text(max_size=30)
    | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
MISSING = object()


class _Context:
    function_name = "webhook-receiver"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:webhook-receiver"
    aws_request_id = "fuzz"


class _Secrets:
    def active(self, provider: str) -> tuple[str, ...]:
        return (SECRETS[provider],)


def _handler() -> Any:
    pipeline = Pipeline(default_providers(), _Secrets(), MemoryStore(), clock=lambda: NOW)
    return receiver.create_handler(lambda: Receiver(pipeline, GenericProvider()))


HANDLER = _handler()


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _set(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target: Any = event
    for name in parents:
        if not isinstance(target, dict) or not isinstance(target.get(name), dict):
            return event  # an earlier change removed the parent: nothing to set
        target = target[name]
    if value is MISSING:
        target.pop(last, None)
    else:
        target[last] = value
    return event


@st.composite
def url_events(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(TEMPLATE)
    for path in draw(st.lists(st.sampled_from(URL_FIELDS), min_size=1, max_size=3)):
        _set(event, path, draw(st.just(MISSING) | json_values))
    return event


direct_events = json_values | st.dictionaries(
    st.sampled_from(DIRECT_FIELDS), json_values, max_size=len(DIRECT_FIELDS)
)


@pytest.mark.untraced
@settings(max_examples=3000, deadline=None, database=None, derandomize=True)
@given(url_events())
def test_a_malformed_function_url_event_is_an_http_answer_not_a_traceback(
    event: dict[str, Any],
) -> None:
    context = event.get("requestContext")
    if not (isinstance(context, dict) and "http" in context):
        # No longer a Function URL request: the receiver reads it as a direct invocation.
        test_a_malformed_direct_invocation_is_a_typed_refusal.hypothesis.inner_test(event)
        return
    response = HANDLER(event, _Context())
    assert isinstance(response["statusCode"], int)
    assert response["statusCode"] != 500, response
    assert isinstance(response["body"], str)


@pytest.mark.untraced
@settings(max_examples=3000, deadline=None, database=None, derandomize=True)
@given(direct_events)
def test_a_malformed_direct_invocation_is_a_typed_refusal(event: Any) -> None:
    try:
        answer: object = HANDLER(event, _Context())
    except WebhookError as error:
        answer = error  # typed, with its reason
    assert isinstance(answer, dict) or (isinstance(answer, WebhookError) and answer.detail)


def test_the_shapes_named_in_the_report_are_typed_refusals() -> None:
    """The four shapes a red-team pass found raising Python errors."""
    null_http = copy.deepcopy(TEMPLATE)
    null_http["requestContext"]["http"] = None
    response = HANDLER(null_http, _Context())
    assert response["statusCode"] == 400
    assert "requestContext.http must be an object" in response["body"]

    number_header = copy.deepcopy(TEMPLATE)
    number_header["headers"]["stripe-signature"] = 5
    response = HANDLER(number_header, _Context())
    assert response["statusCode"] == 400
    assert "headers must map header names to strings" in response["body"]

    with pytest.raises(WebhookError, match="not a finite number"):
        HANDLER({"transaction_id": "t", "amount": 1, "metadata": {"x": float("nan")}}, _Context())
    with pytest.raises(WebhookError, match="must be a JSON object, got an array"):
        HANDLER([1, 2], _Context())


#: A few shapes per field the receiver reads, traced, with the reason each answer gives.
URL_SHAPES = {
    "rawPath a number": ("rawPath", 5, "rawPath must be a string, got a number"),
    "method a list": ("requestContext.http.method", [], "method must be a string, got an array"),
    "domainName an object": ("requestContext.domainName", {}, "domainName must be a string"),
    "rawQueryString true": ("rawQueryString", True, "rawQueryString must be a string"),
    "headers an array": ("headers", [], "headers must be an object, got an array"),
    "body an object": ("body", {"a": 1}, "body must be a string, got an object"),
    "body a lone surrogate": ("body", "\ud800", "lone UTF-16 surrogate"),
    "isBase64Encoded a string": ("isBase64Encoded", "yes", "must be true or false, got a string"),
}


@pytest.mark.parametrize("case", URL_SHAPES)
def test_each_function_url_field_of_the_wrong_type_is_a_400_naming_it(case: str) -> None:
    path, value, reason = URL_SHAPES[case]
    response = HANDLER(_set(copy.deepcopy(TEMPLATE), path, value), _Context())
    assert response["statusCode"] == 400
    assert reason in response["body"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("text", "must be a JSON object, got a string"),
        (None, "must be a JSON object, got null"),
        (7, "must be a JSON object, got a number"),
        (True, "must be a JSON object, got a boolean"),
        ({"body": "{}", "headers": {"webhook-id": 5}}, "headers must map header names to strings"),
        ({"body": "{}", "headers": {"a": "b"}, "provider": 5}, "provider must be a string"),
        ({"transaction_id": "t", "amount": float("inf")}, "not a finite number"),
        ({"transaction_id": "\ud800", "amount": 1}, "lone UTF-16 surrogate"),
        ({"body": "{}", "headers": {"a": "\udfff"}}, "lone UTF-16 surrogate"),
        ({"transaction_id": "t", "amount": 1, "metadata": {"x": _nested(500)}}, "nested"),
        ({"transaction_id": "t", "amount": 1, "metadata": {"x": _nested(990)}}, "nested"),
    ],
)
def test_each_malformed_direct_invocation_raises_its_reason(event: Any, reason: str) -> None:
    with pytest.raises(WebhookError, match=re.escape(reason)):
        HANDLER(event, _Context())
