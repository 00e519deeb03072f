"""Event stores: the protocol, the in-memory fake and SQLite (DynamoDB lives with the AWS code)."""

from webhook_processor.storage.base import EventStore, LocalStore
from webhook_processor.storage.memory import MemoryStore
from webhook_processor.storage.sqlite import SQLiteStore

__all__ = ["EventStore", "LocalStore", "MemoryStore", "SQLiteStore"]
