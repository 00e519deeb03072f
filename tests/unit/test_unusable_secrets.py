"""A secret that is there but cannot be used is the operator's to fix: a 503 the provider
retries, with the reason in the log, never a 401 that blames the sender."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support.builders import NOW, SECRETS, encode, generic_body, signed
from tests.support.loopback import post
from tests.support.stores import recent_events
from webhook_processor.local.bootstrap import LocalConfig, build_local
from webhook_processor.local.server import create_app
from webhook_processor.publishing.memory import MemorySink
from webhook_processor.storage.memory import MemoryStore

#: provider -> a value secrets.json may hold for it that no signature can be checked with, and
#: the words of the reason logged.
UNUSABLE = {
    "a number": ("stripe", 5, "is a number, not a string"),
    "a boolean": ("stripe", True, "is a boolean, not a string"),
    "an object": ("stripe", {"secret": SECRETS["stripe"]}, "is an object, not a string"),
    "an array": ("stripe", [SECRETS["stripe"]], "is an array, not a string"),
    "an empty string": ("stripe", "", "no secret for stripe"),
    "null": ("stripe", None, "no secret for stripe"),
    "blanks": ("stripe", "  ,  ", "holds no secret"),
    "an Adyen key that is not hex": ("adyen", "not-hex-at-all", "not hexadecimal"),
    "an Adyen key of odd length": ("adyen", "44782DE", "not hexadecimal"),
    "a Standard Webhooks secret that is not base64": ("generic", "whsec_!!!!", "not whsec_"),
    "an empty Standard Webhooks secret": ("generic", "whsec_", "is empty"),
    "a non-ASCII Standard Webhooks secret": ("generic", "whsec_\u00e9", "not whsec_"),
    "a zero-width space pasted in": ("generic", SECRETS["generic"] + "\u200b", "not whsec_"),
    "a lone surrogate": ("stripe", "whsec_\ud800", "not Unicode text"),
    "a good secret rotated with a bad one": (
        "generic",
        f"{SECRETS['generic']},whsec_!!!!",
        "active secret 2 of generic",
    ),
}


@pytest.mark.parametrize("case", UNUSABLE)
def test_an_unusable_secret_is_a_503_with_its_reason_logged(
    case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    provider, value, reason = UNUSABLE[case]
    (tmp_path / "secrets.json").write_text(json.dumps({provider: value}))
    processor = build_local(
        LocalConfig(data_dir=tmp_path),
        environ={},
        clock=lambda: NOW,
        store=MemoryStore(),
        sinks=[MemorySink()],
    )
    # Signed as the provider would, with the secret it really has: only ours is wrong.
    body, headers = signed(provider, _body(provider))
    try:
        with (
            caplog.at_level(logging.WARNING),
            TestClient(create_app(processor, run_dispatcher=False)) as client,
        ):
            response = post(client, provider, body, headers)
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "secret_unavailable"
        # The sender is told to retry; the reason is the operator's, in the log.
        assert reason not in response.text
        assert reason in caplog.text
        assert recent_events(processor.store, 10) == []
        # The reason names where the secret is, never what it is.
        if isinstance(value, str) and len(value) > 8:
            assert value not in caplog.text
            assert value not in response.text
    finally:
        processor.close()


def _body(provider: str) -> bytes:
    from tests.support.builders import adyen_item, stripe_event

    if provider == "stripe":
        return encode(stripe_event())
    if provider == "adyen":
        return encode(
            {"live": "false", "notificationItems": [{"NotificationRequestItem": adyen_item()}]}
        )
    return encode(generic_body())
