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
    #: The refund or capture the event reports (several steps can report one).
    movement: str | None = None
    #: A payment event's captured amount, where below ``amount`` (a partial capture).
    captured: str | None = None
    #: A running total of refunds: Stripe's charge.refunded, Square's payment.updated.
    refunded_total: str | None = None


@dataclass(frozen=True)
class Scenario:
    steps: tuple[Step, ...]
    #: The transaction's status after each step.
    statuses: tuple[TransactionStatus, ...]
    refunded: str = "0"
    late: int = 0
    #: The final captured and authorized amounts, where the scenario is about them.
    captured: str | None = None
    authorized: str | None = None
    #: The providers whose vocabulary has the scenario's events; None: every provider.
    providers: frozenset[str] | None = None


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
    # -- the books: refunds with a life cycle, running totals, partial captures ----------------
    "a refund total only, partial then full": Scenario(
        (
            Step("succeeded", "20.00", seconds=1),
            Step("refunded_total", "20.00", seconds=2, refunded_total="5.00"),
            Step("refunded_total", "20.00", seconds=3, refunded_total="20.00"),
        ),
        (T.SUCCEEDED, T.PARTIALLY_REFUNDED, T.REFUNDED),
        refunded="20.00",
        providers=frozenset({"stripe", "square"}),
    ),
    "refund events and the running total report the same refunds": Scenario(
        (
            Step("succeeded", "20.00", seconds=1),
            Step("refunded", "5.00", seconds=2, movement="rf_a"),
            Step("refunded_total", "20.00", seconds=2, refunded_total="5.00"),
            Step("refunded_total", "20.00", seconds=3, refunded_total="20.00"),
            Step("refunded", "15.00", seconds=3, movement="rf_b"),
        ),
        (T.SUCCEEDED, T.PARTIALLY_REFUNDED, T.PARTIALLY_REFUNDED, T.REFUNDED, T.REFUNDED),
        refunded="20.00",
        providers=frozenset({"stripe", "square"}),
    ),
    "a refund fails after pending": Scenario(
        (
            Step("succeeded", seconds=1),
            Step("refund_pending", "4.00", seconds=2, movement="rf_a"),
            Step("refund_failed", "4.00", seconds=3, movement="rf_a"),
        ),
        (T.SUCCEEDED, T.PARTIALLY_REFUNDED, T.SUCCEEDED),
        providers=frozenset({"stripe", "square", "generic"}),
    ),
    "a refund fails after it succeeded": Scenario(
        (
            Step("succeeded", seconds=1),
            Step("refunded", "4.00", seconds=2, movement="rf_a"),
            Step("refunded", "6.00", seconds=2, movement="rf_b"),
            Step("refund_failed", "4.00", seconds=3, movement="rf_a"),
        ),
        (T.SUCCEEDED, T.PARTIALLY_REFUNDED, T.REFUNDED, T.PARTIALLY_REFUNDED),
        refunded="6.00",
    ),
    "a refund's failure delivered before the refund": Scenario(
        (
            Step("succeeded", seconds=1),
            Step("refund_failed", "4.00", seconds=3, movement="rf_a"),
            Step("refunded", "4.00", seconds=2, movement="rf_a"),
        ),
        (T.SUCCEEDED, T.SUCCEEDED, T.SUCCEEDED),
        late=1,
    ),
    "a partial capture": Scenario(
        (Step("authorized", "20.00", seconds=1), Step("succeeded", "20.00", 2, captured="15.00")),
        (T.AUTHORIZED, T.SUCCEEDED),
        captured="15.00",
        authorized="20.00",
        providers=frozenset({"stripe", "adyen", "generic"}),
    ),
    "a capture that fails after it was reported": Scenario(
        (
            Step("authorized", seconds=1),
            Step("succeeded", seconds=2, movement="cp_1"),
            Step("capture_failed", seconds=3, movement="cp_1"),
        ),
        (T.AUTHORIZED, T.SUCCEEDED, T.FAILED),
        captured="0",
        authorized="10.00",
        providers=frozenset({"adyen"}),
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


def scenarios_of(provider: str) -> list[str]:
    """The scenarios whose events ``provider``'s vocabulary has."""
    return sorted(
        name
        for name, scenario in SCENARIOS.items()
        if scenario.providers is None or provider in scenario.providers
    )


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
        if status == "refunded_total" and provider == "square":
            status = "succeeded"  # Square's payment.updated carries its refunded_money
        amount = step.amount
        if provider == "generic" and step.captured is not None:
            amount = step.captured  # the generic body has one amount
        spec = Sample(
            event_id=f"{adapter.event_id_prefix}scn{n}",
            amount=Decimal(amount),
            currency="EUR",
            status=status,
            created=NOW + timedelta(seconds=step.seconds),
            transaction_id=TRANSACTION,
            movement_id=step.movement,
            captured=None if step.captured is None else Decimal(step.captured),
            refunded_total=None if step.refunded_total is None else Decimal(step.refunded_total),
        )
        body, headers = signer.sign(
            adapter.sample(spec), at=NOW, secret=signer.SECRET, message_id=spec.event_id
        )
        made.append(Delivery(body, headers, spec.event_id))
    return made
