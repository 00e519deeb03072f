"""The package's public names load on first use, so importing one module loads no others."""

from __future__ import annotations

import pytest

import webhook_processor
from webhook_processor.pipeline import Pipeline


def test_public_names_resolve_to_their_home_modules() -> None:
    assert webhook_processor.Pipeline is Pipeline
    exported = {name: getattr(webhook_processor, name) for name in webhook_processor.__all__}
    assert {value.__name__ for value in exported.values()} == set(webhook_processor.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = webhook_processor.Nope  # type: ignore[attr-defined]
