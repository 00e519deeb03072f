"""Out-of-order scenarios with every provider's payloads, on both platforms: what each step
answers and where the transaction stands after it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.aws import TABLE
from tests.integration.test_lambda import Deployed, url_event
from tests.scenarios import SCENARIOS, TRANSACTION, deliveries
from webhook_processor.providers import default_providers
from webhook_processor.storage.dynamodb import DynamoDBStore


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("provider", sorted(default_providers()))
def test_on_the_lambda_receiver(deployed: Deployed, provider: str, scenario: str) -> None:
    expected = SCENARIOS[scenario]
    store = DynamoDBStore(TABLE, deployed.session.client("dynamodb"))
    seen = []
    for delivery in deliveries(provider, expected):
        status, _ = deployed.receive(url_event(provider, delivery.body, delivery.headers))
        assert status == 200
        state = store.transaction(provider, TRANSACTION)
        assert state is not None
        seen.append(state.status)
    assert tuple(seen) == expected.statuses
    assert state.refunded == Decimal(expected.refunded)
    assert state.late_count == expected.late
    assert state.event_count == len({d.event_id for d in deliveries(provider, expected)})
