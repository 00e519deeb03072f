"""The publishing port (``base``: a :class:`~webhook_processor.publishing.base.Sink`), the
envelope subscribers receive (``envelope``) and the in-memory fake (``memory``). The sinks
themselves are the wings': the events file and HTTP subscribers in ``webhook_processor.local``,
SNS in ``webhook_processor.aws``."""
