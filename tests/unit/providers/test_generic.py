"""The generic provider against the Standard Webhooks reference library as the oracle."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import standardwebhooks

from tests.support.builders import (
    GENERIC_SECRET,
    NOW,
    encode,
    generic_body,
    request,
    signed,
)
from webhook_processor.errors import SecretUnavailable, SignatureInvalid
from webhook_processor.providers import standard_webhooks_scheme as scheme
from webhook_processor.providers.generic import GenericProvider


def test_generic_signer_is_accepted_by_the_standard_webhooks_library() -> None:
    body = encode(generic_body())
    # The library checks timestamps against the wall clock, so sign at the real "now" for it.
    headers = GenericProvider().sign(body, GENERIC_SECRET, datetime.now(UTC), "msg_1").headers
    assert (
        standardwebhooks.Webhook(GENERIC_SECRET).verify(body, headers)["transaction_id"] == "txn_1"
    )


def test_generic_event_is_normalised() -> None:
    body, headers = signed("generic", encode(generic_body(event_id="msg_1")))
    [event] = GenericProvider().parse(request("generic", body, headers), GENERIC_SECRET, NOW)
    assert (event.event_id, event.transaction_id, event.event_type) == (
        "msg_1",
        "txn_1",
        "payment.succeeded",
    )
    assert (event.amount, event.status) == (Decimal("19.99"), "succeeded")
    assert event.metadata == {"order": "42", "provider": "paypal"}


def test_generic_accepts_several_signatures_and_skips_other_versions() -> None:
    body, headers = signed("generic", encode(generic_body()))
    headers["webhook-signature"] = "v2,abc v1,AAAA " + headers["webhook-signature"]
    [event] = GenericProvider().parse(request("generic", body, headers), GENERIC_SECRET, NOW)
    assert (event.event_id, event.amount) == ("msg_1", Decimal("19.99"))


def test_generic_tampered_body_is_rejected() -> None:
    body, headers = signed("generic", encode(generic_body()))
    with pytest.raises(SignatureInvalid):
        GenericProvider().parse(
            request("generic", body.replace(b"19.99", b"1.99"), headers), GENERIC_SECRET, NOW
        )


@pytest.mark.parametrize("secret", ["whsec_!!!notbase64", "whsec_"])
def test_generic_bad_configured_secret_is_unavailable_not_a_client_error(secret: str) -> None:
    body, headers = signed("generic", encode(generic_body()))
    with pytest.raises(SecretUnavailable):
        GenericProvider().parse(request("generic", body, headers), secret, NOW)


def test_the_standard_webhooks_librarys_published_vector_verifies() -> None:
    """standard-webhooks libraries/python/tests/test_webhooks.py::test_sign_function."""
    body = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    at = datetime.fromtimestamp(1614265330, UTC)
    key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert (
        standardwebhooks.Webhook(key).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", at, body.decode())
        == (headers["webhook-signature"])
    )
    assert (
        scheme.verify(request("generic", body, headers), key, at) == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    )
    with pytest.raises(SignatureInvalid):
        scheme.verify(request("generic", body.replace(b"2432", b"2433"), headers), key, at)
