"""What every registered provider must do, whatever its scheme: derived from the registry, so a
new provider is held to it without touching this file."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.oracles import oracle
from tests.support.builders import NOW, request, sample_event, sample_names
from webhook_processor.errors import SecretUnavailable, SignatureInvalid, SignatureMismatch
from webhook_processor.limits import MAX_ACTIVE_SECRETS
from webhook_processor.model import Disposition, Outcome, PaymentStatus
from webhook_processor.providers import default_providers, direct_invocation_adapter
from webhook_processor.providers.base import Provider, Sample, Signed, parse_signed

PROVIDERS = sorted(default_providers())


def sample(provider: Provider) -> Sample:
    return Sample(provider.event_id_prefix + "x1", Decimal("12.34"), "EUR", "succeeded", NOW)


def signed_sample(name: str, secret: str | None = None) -> Signed:
    """A sample event signed by the provider's own library (with ``secret``, or its own)."""
    provider, signer = default_providers()[name], oracle(name)
    spec = sample(provider)
    body, headers = signer.sign(
        provider.sample(spec),
        at=NOW,
        secret=signer.SECRET if secret is None else secret,
        message_id=spec.event_id,
    )
    return Signed(body, headers)


def other_secret(secret: str) -> str:
    """``secret`` with its last character changed, in the same alphabet."""
    return secret[:-1] + ("0" if secret[-1] != "0" else "1")


def test_the_registry_names_each_adapter_by_its_own_name() -> None:
    assert {"adyen", "generic", "square", "stripe"} <= set(PROVIDERS)
    assert all(name == adapter.name for name, adapter in default_providers().items())


def test_direct_invocations_are_read_by_the_generic_adapter() -> None:
    assert direct_invocation_adapter(default_providers()).name == "generic"
    with pytest.raises(TypeError, match="must be the generic adapter"):
        direct_invocation_adapter({"generic": default_providers()["stripe"]})


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_sample_signed_with_a_fresh_secret_parses_back_to_what_was_asked(name: str) -> None:
    provider = default_providers()[name]
    secret = provider.new_secret()
    spec = sample(provider)
    signed = provider.sign(provider.sample(spec), secret, NOW, spec.event_id)
    [event] = provider.parse(request(name, signed.body, signed.headers), secret, NOW)
    assert event.provider == name
    # Adyen's event id is its dedupe key, eventCode:pspReference:success, around the reference.
    assert spec.event_id in event.event_id
    assert (event.amount, event.currency, event.status) == (Decimal("12.34"), "EUR", "succeeded")


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_providers_own_library_signs_what_the_adapter_accepts(name: str) -> None:
    signed = signed_sample(name)
    [event] = default_providers()[name].parse(
        request(name, signed.body, signed.headers), oracle(name).SECRET, NOW
    )
    assert sample(default_providers()[name]).event_id in event.event_id


@pytest.mark.parametrize("name", PROVIDERS)
def test_every_documented_sample_event_is_accepted_when_signed_by_the_provider(name: str) -> None:
    """tests/events/<provider>/ holds the provider's documented payloads; each one, signed by
    the provider's library, verifies and normalises (or is acknowledged as not a payment
    event), and at least one of them is a payment event."""
    provider, signer = default_providers()[name], oracle(name)
    names = sample_names(name)
    assert len(names) >= 3
    normalised = []
    for sample_name in names:
        body, headers = signer.sign(
            sample_event(name, sample_name), at=NOW, secret=signer.SECRET, message_id="msg_s"
        )
        events = provider.parse(request(name, body, headers), signer.SECRET, NOW)
        normalised += events
    assert normalised
    assert {event.status for event in normalised} <= set(PaymentStatus)
    assert all(event.provider == name and event.amount >= 0 for event in normalised)


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_body_signed_with_another_secret_is_refused(name: str) -> None:
    provider = default_providers()[name]
    spec = sample(provider)
    signed = provider.sign(provider.sample(spec), provider.new_secret(), NOW, spec.event_id)
    with pytest.raises(SignatureMismatch, match="does not match"):
        provider.parse(request(name, signed.body, signed.headers), provider.new_secret(), NOW)


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_key_one_character_off_is_refused(name: str) -> None:
    signed = signed_sample(name)
    key = other_secret(oracle(name).SECRET)
    with pytest.raises(SignatureMismatch):
        default_providers()[name].parse(request(name, signed.body, signed.headers), key, NOW)


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_one_byte_change_to_the_signed_body_is_refused(name: str) -> None:
    signed = signed_sample(name)
    # The sample's event id (x1) is in every provider's signed material.
    assert signed.body.count(b"x1") >= 1
    tampered = signed.body.replace(b"x1", b"x2")
    with pytest.raises(SignatureMismatch):
        default_providers()[name].parse(
            request(name, tampered, signed.headers), oracle(name).SECRET, NOW
        )


SIGNING_HEADERS = [
    (name, header)
    for name in PROVIDERS
    for header in signed_sample(name).headers
    if header.lower() != "content-type"
]


def test_the_header_signed_providers_are_the_ones_expected() -> None:
    """Adyen signs inside the body (its hmacSignature is tampered in test_adyen.py)."""
    header_signed = {name for name, _ in SIGNING_HEADERS}
    assert {"generic", "square", "stripe"} <= header_signed
    assert "adyen" not in header_signed


@pytest.mark.parametrize(("name", "header"), SIGNING_HEADERS)
def test_a_one_character_change_to_a_signing_header_is_refused(name: str, header: str) -> None:
    signed = signed_sample(name)
    value = signed.headers[header]
    middle = len(value) // 2
    changed = value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :]
    headers = {**signed.headers, header: changed}
    with pytest.raises(SignatureInvalid):
        default_providers()[name].parse(
            request(name, signed.body, headers), oracle(name).SECRET, NOW
        )


@pytest.mark.parametrize("name", PROVIDERS)
def test_during_a_rotation_either_active_secret_verifies_and_a_third_does_not(name: str) -> None:
    provider = default_providers()[name]
    old, new, stranger = oracle(name).SECRET, provider.new_secret(), provider.new_secret()
    for signer in (old, new):
        signed = signed_sample(name, signer)
        events = parse_signed(provider, request(name, signed.body, signed.headers), (new, old), NOW)
        assert len(events) == 1
    signed = signed_sample(name, stranger)
    with pytest.raises(SignatureMismatch, match="under any of 2 active secrets"):
        parse_signed(provider, request(name, signed.body, signed.headers), (new, old), NOW)


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_number_of_secrets_a_request_is_tried_against_is_bounded(name: str) -> None:
    provider = default_providers()[name]
    signed = signed_sample(name)
    too_many = tuple(provider.new_secret() for _ in range(MAX_ACTIVE_SECRETS + 1))
    with pytest.raises(SecretUnavailable, match=f"at most {MAX_ACTIVE_SECRETS}"):
        parse_signed(provider, request(name, signed.body, signed.headers), too_many, NOW)
    with pytest.raises(SecretUnavailable, match="no active secret"):
        parse_signed(provider, request(name, signed.body, signed.headers), (), NOW)


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_reply_a_provider_prescribes_does_not_depend_on_what_was_stored(name: str) -> None:
    """A provider's acknowledgement means "received"; a duplicate or an ignored event must get
    it too, or the provider retries what was already taken."""
    provider = default_providers()[name]
    replies = {provider.reply(Outcome(disposition, ())) for disposition in Disposition}
    assert len(replies) == 1
