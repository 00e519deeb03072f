"""The bounds every request is held to, in one place: what any sender can make us spend."""

from __future__ import annotations

from typing import Final

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


# -- the size chain -------------------------------------------------------------------------------
# Every accepted event must fit each hop it takes, so each limit is derived from the next one
# down, ending at the tightest: SNS's. tests/unit/test_size_chain.py recomputes each bound from
# the code that writes the bytes, and tests/integration/test_size_chain_aws.py publishes the
# largest accepted body of every provider on moto.

#: SNS's largest message, the message and its attributes together (names, types and values
#: count): 256 KiB. https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.html
SNS_MESSAGE_BYTES: Final = 262_144
#: DynamoDB's largest item, attribute names and values together: 400 KB.
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
DYNAMODB_ITEM_BYTES: Final = 400 * 1024
#: Lambda's largest asynchronous invocation payload (1 MB), and SQS's largest message with its
#: attributes (1 MiB): the largest direct invocation of an accepted body, and its dead letter
#: (Lambda adds the error as attributes), fit both.
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_ASYNC_PAYLOAD_BYTES: Final = 1_000_000
SQS_MESSAGE_BYTES: Final = 1_048_576
#: Longest event type, currency, customer or payment-method text an event may carry: each is
#: published as an attribute or a field whatever the metadata's size, so each is bounded.
MAX_TEXT_LENGTH: Final = 255
#: The most the published message attributes take (``aws.sns.message_attributes``: five names,
#: their type and their values, each value bounded by :data:`MAX_TEXT_LENGTH` characters).
MAX_ATTRIBUTES_BYTES: Final = 6 * 1024
#: The largest envelope an event may publish as.
MAX_ENVELOPE_BYTES: Final = SNS_MESSAGE_BYTES - MAX_ATTRIBUTES_BYTES
#: The most an envelope holds besides the event's metadata: ids, texts, times, amounts and the
#: transaction's state, each at its bound, and the fixed keys.
ENVELOPE_OVERHEAD_BYTES: Final = 10 * 1024
#: Default body limit: a body of this size whose metadata is nearly all of it still publishes.
#: Real provider events are a few KiB; Adyen batches stay well under this.
DEFAULT_MAX_BODY_BYTES: Final = MAX_ENVELOPE_BYTES - ENVELOPE_OVERHEAD_BYTES
#: Metadata written again is never longer than 9/5 of the body text it came from: whitespace
#: and escapes only shrink, and a number grows only in its exponent's form: ``1E-6`` is written
#: ``0.000001`` (4 characters more, from 4; its separator makes 5) and ``10e9`` ``1.0E+10``. So
#: a body up to this size always publishes, and only a larger one has its envelope measured
#: before it is stored.
SURE_FIT_BODY_BYTES: Final = DEFAULT_MAX_BODY_BYTES * 5 // 9
