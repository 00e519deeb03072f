"""The storage ports (``base``), the record every store writes (``records``), the listings'
pages (``paging``) and the in-memory fake (``memory``). The stores themselves are the wings':
``webhook_processor.local.sqlite`` and ``webhook_processor.aws.dynamodb``."""
