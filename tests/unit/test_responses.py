"""The one table from outcomes and errors to HTTP responses."""

from __future__ import annotations

import json

from webhook_processor.errors import WebhookError
from webhook_processor.model import Disposition, Outcome, Reply
from webhook_processor.responses import error_response, outcome_response


def test_a_prescribed_reply_is_sent_as_the_provider_requires() -> None:
    outcome = Outcome(Disposition.DUPLICATE, ("e1",), Reply("text/plain", b"[accepted]"))
    assert outcome_response(outcome) == (200, {"content-type": "text/plain"}, b"[accepted]")


def test_without_a_reply_the_answer_is_our_json() -> None:
    status, headers, body = outcome_response(Outcome(Disposition.ACCEPTED, ("e1",)))
    assert (status, headers) == (200, {"content-type": "application/json"})
    assert json.loads(body) == {"status": "accepted", "event_ids": ["e1"]}


def test_an_error_outside_the_table_is_a_500_that_reveals_nothing() -> None:
    status, _, body = error_response(WebhookError("internal detail"))
    assert status == 500
    assert json.loads(body) == {
        "error": "error",
        "detail": "the processor cannot take this event now; retry later",
    }
