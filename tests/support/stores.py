"""Reading a store as the CLI does, through the one listing API, for the tests' assertions."""

from __future__ import annotations

from webhook_processor.storage.base import (
    DeadLetter,
    EventRecord,
    Listings,
    LocalStore,
    event_records,
)
from webhook_processor.storage.paging import EventFilter, TransactionFilter
from webhook_processor.transactions import TransactionState


def recent_events(store: Listings, limit: int) -> list[EventRecord]:
    """The ``limit`` latest events, newest first, with where each one's publication stands."""
    return event_records(store, store.event_page(EventFilter(), None, limit).items)


def recent_transactions(store: Listings, limit: int) -> list[TransactionState]:
    """The ``limit`` latest updated transactions, newest first."""
    return store.transaction_page(TransactionFilter(), None, limit).items


def dead_letters(store: LocalStore) -> list[DeadLetter]:
    """Every dead letter, oldest failure first, page after page."""
    found: list[DeadLetter] = []
    after = None
    while True:
        page = store.dead_letter_page(after, 100)
        found += page.items
        if page.next is None:
            return found
        after = page.next
