"""What every registered provider must do, whatever its scheme: derived from the registry, so a
new provider is held to it without touching this file."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.builders import NOW, request
from tests.oracles import oracle
from webhook_processor.errors import SignatureInvalid
from webhook_processor.model import Disposition, Outcome
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Provider, Sample

PROVIDERS = sorted(default_providers())


def sample(provider: Provider) -> Sample:
    return Sample(provider.event_id_prefix + "x1", Decimal("12.34"), "EUR", "succeeded", NOW)


def test_the_registry_names_each_adapter_by_its_own_name() -> None:
    assert PROVIDERS == ["generic", "stripe"]
    assert all(name == adapter.name for name, adapter in default_providers().items())


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_sample_signed_with_a_fresh_secret_parses_back_to_what_was_asked(name: str) -> None:
    provider = default_providers()[name]
    secret = provider.new_secret()
    spec = sample(provider)
    signed = provider.sign(provider.sample(spec), secret, NOW, spec.event_id)
    [event] = provider.parse(request(name, signed.body, signed.headers), secret, NOW)
    assert (event.provider, event.event_id) == (name, spec.event_id)
    assert (event.amount, event.currency, event.status) == (Decimal("12.34"), "EUR", "succeeded")


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_providers_own_library_signs_what_the_adapter_accepts(name: str) -> None:
    provider, signer = default_providers()[name], oracle(name)
    spec = sample(provider)
    body, headers = signer.sign(
        provider.sample(spec), at=NOW, secret=signer.SECRET, message_id=spec.event_id
    )
    [event] = provider.parse(request(name, body, headers), signer.SECRET, NOW)
    assert event.event_id == spec.event_id


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_body_signed_with_another_secret_is_refused(name: str) -> None:
    provider = default_providers()[name]
    spec = sample(provider)
    signed = provider.sign(provider.sample(spec), provider.new_secret(), NOW, spec.event_id)
    with pytest.raises(SignatureInvalid, match="does not match"):
        provider.parse(request(name, signed.body, signed.headers), provider.new_secret(), NOW)


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_reply_a_provider_prescribes_does_not_depend_on_what_was_stored(name: str) -> None:
    """A provider's acknowledgement means "received"; a duplicate or an ignored event must get
    it too, or the provider retries what was already taken."""
    provider = default_providers()[name]
    replies = {provider.reply(Outcome(disposition, ())) for disposition in Disposition}
    assert len(replies) == 1
