"""Publishing: the envelope, the local sinks and the outbox dispatcher."""

from webhook_processor.publishing.dispatcher import Dispatcher
from webhook_processor.publishing.envelope import encode, envelope
from webhook_processor.publishing.sinks import HttpSink, JsonLinesSink, MemorySink, Sink

__all__ = ["Dispatcher", "HttpSink", "JsonLinesSink", "MemorySink", "Sink", "encode", "envelope"]
