"""The bounds every request is held to, in one place: what any sender can make us spend."""

from __future__ import annotations

from typing import Final

#: Default body limit. Real provider events are a few KiB; Adyen batches stay well under this.
DEFAULT_MAX_BODY_BYTES: Final = 256 * 1024

#: Longest accepted event or transaction id. Provider ids are tens of characters; without a
#: bound a signed but absurd id would exceed DynamoDB's key size and fail as a 5xx, forever.
MAX_ID_LENGTH: Final = 255

#: Most signing secrets one provider may have active at once: the current one and the one being
#: rotated out, and one more for a rotation that overlaps. Each costs an HMAC per request.
MAX_ACTIVE_SECRETS: Final = 3

#: Most items one Adyen batch may carry. Adyen sends one item per request today and batched a
#: handful at most; each item costs an HMAC per active secret and a conditional write.
MAX_BATCH_ITEMS: Final = 100
