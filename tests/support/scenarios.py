"""Out-of-order scenarios every provider's payloads must survive, as deliveries: each step is a
realistic event (the adapter's sample, shaped as the provider documents it), signed by the
provider's own library, delivered in the scenario's order, with the provider's own clock
running as the scenario says. Both platforms run the same scenarios."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from tests.oracles import oracle
from tests.support.builders import NOW
from webhook_processor.model import TransactionStatus
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Sample

#: Each scenario's transaction (the adapters derive provider-specific ids from it).
TRANSACTION = "scn_1"


@dataclass(frozen=True)
class Step:
    """One delivery: the event's status and amount, and when the provider says it happened."""

    status: str
    amount: str = "10.00"
    seconds: int = 0
    #: The same event again (a redelivery of step ``again``), instead of a new one.
    again: int | None = None


@dataclass(frozen=True)
class Scenario:
    steps: tuple[Step, ...]
    #: The transaction's status after each step.
    statuses: tuple[TransactionStatus, ...]
    refunded: str = "0"
    late: int = 0


T = TransactionStatus
BEFORE_AN_OUTCOME = "pending"

SCENARIOS: dict[str, Scenario] = {
    "succeeded before processing": Scenario(
        (Step("succeeded", seconds=5), Step(BEFORE_AN_OUTCOME, seconds=1)),
        (T.SUCCEEDED, T.SUCCEEDED),
        late=1,
    ),
    "refund before capture": Scenario(
        (Step("refunded", seconds=9), Step("succeeded", seconds=1)),
        (T.PARTIALLY_REFUNDED, T.REFUNDED),
        refunded="10.00",
    ),
    "two partial refunds": Scenario(
        (
            Step("succeeded", seconds=1),
            Step("refunded", "3.33", seconds=2),
            Step("refunded", "6.67", seconds=3),
        ),
        (T.SUCCEEDED, T.PARTIALLY_REFUNDED, T.REFUNDED),
        refunded="10.00",
    ),
    "dispute opened then won": Scenario(
        (
            Step("succeeded", seconds=1),
            Step("disputed", seconds=2),
            Step("dispute_won", seconds=3),
        ),
        (T.SUCCEEDED, T.DISPUTED, T.SUCCEEDED),
    ),
    "duplicate of a late event": Scenario(
        (
            Step("succeeded", seconds=5),
            Step(BEFORE_AN_OUTCOME, seconds=1),
            Step(BEFORE_AN_OUTCOME, seconds=1, again=1),
        ),
        (T.SUCCEEDED, T.SUCCEEDED, T.SUCCEEDED),
        late=1,
    ),
}


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]
    #: The id the provider gives the event (what the processor answers with).
    event_id: str


def deliveries(provider: str, scenario: Scenario) -> list[Delivery]:
    """The scenario's steps as ``provider`` would deliver them."""
    adapter, signer = default_providers()[provider], oracle(provider)
    made: list[Delivery] = []
    for n, step in enumerate(scenario.steps):
        if step.again is not None:
            made.append(made[step.again])
            continue
        status = step.status
        if status == BEFORE_AN_OUTCOME and provider == "adyen":
            status = "authorized"  # Adyen says nothing of a payment before its authorisation
        spec = Sample(
            event_id=f"{adapter.event_id_prefix}scn{n}",
            amount=Decimal(step.amount),
            currency="EUR",
            status=status,
            created=NOW + timedelta(seconds=step.seconds),
            transaction_id=TRANSACTION,
        )
        body, headers = signer.sign(
            adapter.sample(spec), at=NOW, secret=signer.SECRET, message_id=spec.event_id
        )
        made.append(Delivery(body, headers, spec.event_id))
    return made
