"""Publishing: the envelope, the :class:`~webhook_processor.publishing.base.Sink` port and its
adapters (a JSON Lines file, HTTP subscribers, memory; SNS on AWS), and the local outbox
dispatcher. Each lives in its own module, imported where it is chosen, so that the publisher
function loads SNS and the envelope, and nothing of the local processor."""
