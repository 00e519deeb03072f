"""JSON in and out with exact decimals, bounded.

``json.loads`` turns every JSON number with a fraction or exponent into ``Decimal`` and rejects
the non-standard constants ``NaN`` and ``Infinity``. A body's numbers are bounded (at most
:data:`~webhook_processor.limits.MAX_NUMBER_CHARS` characters, exponents within
:data:`~webhook_processor.limits.MAX_NUMBER_EXPONENT`) and its strings must be Unicode that can
be stored (no lone surrogates such as ``"\\ud800"``), so whatever is accepted can be stored,
read back and published, at a size close to what was sent.

The standard library cannot write a ``Decimal`` as a JSON number (its C encoder formats floats
itself), so :func:`dumps` is a small recursive encoder that writes each ``Decimal`` as its own
exact text (``str``: ``19.99``, ``1E+300``, never a thousand zeros) and delegates every other
leaf to ``json.dumps``. :func:`loads_stored` reads back what the processor wrote, including rows
stored before these bounds existed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from webhook_processor.errors import InvalidPayload, truncate
from webhook_processor.limits import MAX_NUMBER_CHARS, MAX_NUMBER_EXPONENT

#: A UTF-16 surrogate code point: JSON can escape one alone, UTF-8 cannot encode it.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
#: Integer texts longer than this are read back as ``Decimal``: Python refuses ``int`` beyond
#: 4,300 digits, and an old row must still be readable.
_LONGEST_INT_TEXT: Final = 4000


def _reject_constant(name: str) -> Any:
    raise InvalidPayload(f"{name} is not valid JSON: use a number or a string")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidPayload(
            f"a number in the body has {len(text)} characters; the limit is {MAX_NUMBER_CHARS}"
        )
    return int(text)


def _bounded_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidPayload(
            f"a number in the body has {len(text)} characters; the limit is {MAX_NUMBER_CHARS}"
        )
    number = Decimal(text)
    if abs(number.adjusted()) > MAX_NUMBER_EXPONENT:
        raise InvalidPayload(
            f"a number in the body ({truncate(text, 24)}) has an exponent beyond "
            f"±{MAX_NUMBER_EXPONENT}"
        )
    return number


#: One decoder for every body: ``json.loads`` with these hooks would build one per call.
_decode = json.JSONDecoder(
    parse_float=_bounded_decimal, parse_int=_bounded_int, parse_constant=_reject_constant
).decode


def loads(body: bytes | str) -> Any:
    """Parse a request body: fractions become ``Decimal``; numbers are bounded; strings must be
    storable Unicode. Anything else raises :class:`InvalidPayload`."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise InvalidPayload(f"body is not UTF-8 text (byte {exc.start})") from exc
    try:
        value = _decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidPayload(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise InvalidPayload("body is not valid JSON: nested too deeply") from exc
    # Valid UTF-8 holds no surrogates, so one can only come from a \u escape: skip the walk
    # unless the text has one.
    if "\\u" in text:
        check_strings(value)
    return value


def json_kind(value: Any) -> str:
    """What a JSON value is, in JSON's words (``a number``, ``null``): for messages that say
    what was found where something else was expected."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def check_strings(value: Any) -> None:
    """Refuse a lone surrogate in any key or string of ``value``: no store can encode it as
    UTF-8. Iterative, so a deeply nested value cannot exhaust the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            items: Any = (item,)
        elif isinstance(item, dict):
            stack.extend(item.values())
            items = item.keys()
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for string in items:
            if _SURROGATE.search(string):
                raise InvalidPayload(
                    "a string in the event has a lone UTF-16 surrogate (like \\ud800): "
                    "not Unicode text"
                )


def loads_stored(text: str) -> Any:
    """Read JSON the processor itself wrote: like :func:`loads`, but never refuses a number, so
    a row stored before the bounds above (a 4,301-digit integer, say) can still be read."""
    return _decode_stored(text)


def _stored_int(text: str) -> int | Decimal:
    return int(text) if len(text) <= _LONGEST_INT_TEXT else Decimal(text)


_decode_stored = json.JSONDecoder(parse_float=Decimal, parse_int=_stored_int).decode


def loads_object(body: bytes | str) -> dict[str, Any]:
    """Parse JSON text that must be an object."""
    value = loads(body)
    if not isinstance(value, dict):
        raise InvalidPayload(f"body must be a JSON object, got {_json_kind(value)}")
    return value


def dumps(value: Any) -> str:
    """Compact JSON text in which every ``Decimal`` keeps its exact digits."""
    try:
        return _c_encode(value)
    except TypeError:  # a Decimal somewhere: the C encoder cannot write it as a number
        parts: list[str] = []
        _write(value, parts.append)
        return "".join(parts)


#: The standard library's C encoder, for the values it writes exactly as :func:`_write` does
#: (everything but ``Decimal``): about ten times faster on metadata-sized objects.
_c_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
).encode


#: ``text`` as a JSON string literal: the C implementation ``json.dumps`` uses.
string: Final[Callable[[str], str]] = json.encoder.encode_basestring


def _write(value: Any, out: Callable[[str], object]) -> None:
    # Appending to one list, exact types first: a generator per level cost twice as much.
    kind = type(value)
    if kind is str:
        out(string(value))
    elif kind is dict or (kind is not list and isinstance(value, dict)):
        separator = "{"
        for key, item in value.items():
            out(separator)
            out(string(str(key)))
            out(":")
            _write(item, out)
            separator = ","
        out("}" if value else "{}")
    elif kind is list or isinstance(value, list | tuple):
        separator = "["
        for item in value:
            out(separator)
            _write(item, out)
            separator = ","
        out("]" if value else "[]")
    else:
        out(scalar(value))


def scalar(value: Any) -> str:
    """A JSON scalar's text; a ``Decimal`` as its own exact digits."""
    if isinstance(value, str):
        return string(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as JSON")
        text = str(value)
        # A long integer text would be unreadable as an int by Python consumers: write it with
        # an exponent instead, which readers take as a float or Decimal.
        return text if len(text) <= _LONGEST_INT_TEXT else format(value, "E")
    return json.dumps(value, allow_nan=False)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
