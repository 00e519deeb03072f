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

#: Longest JSON number accepted in a body, in characters. Python refuses to read integers of
#: more than 4,300 digits (``sys.get_int_max_str_digits``), so a longer one could be stored but
#: never read back; no payment field or sane metadata value comes near this bound.
MAX_NUMBER_CHARS: Final = 100

#: Largest decimal exponent (either sign) of a JSON number. Inside a double's range, so a float
#: consumer of published metadata reads a finite number, and far inside every ``Decimal``
#: context, so no arithmetic on it overflows. ``1e-999999999`` is a 12-byte number whose plain
#: text is a gigabyte.
MAX_NUMBER_EXPONENT: Final = 300
