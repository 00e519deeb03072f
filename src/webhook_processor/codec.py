"""JSON in and out with exact decimals.

``json.loads`` turns every JSON number with a fraction or exponent into ``Decimal`` and rejects
the non-standard constants ``NaN`` and ``Infinity``. The standard library cannot write a
``Decimal`` as a JSON number (its C encoder formats floats itself), so :func:`dumps` is a small
recursive encoder that writes each ``Decimal`` as its own exact text and delegates every other
leaf to ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from webhook_processor.errors import InvalidPayload


def _reject_constant(name: str) -> Any:
    raise InvalidPayload(f"{name} is not valid JSON: use a number or a string")


def loads(body: bytes | str) -> Any:
    """Parse JSON text; fractions become ``Decimal``; bad text raises :class:`InvalidPayload`."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise InvalidPayload(f"body is not UTF-8 text (byte {exc.start})") from exc
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidPayload(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise InvalidPayload("body is not valid JSON: nested too deeply") from exc


def loads_object(body: bytes | str) -> dict[str, Any]:
    """Parse JSON text that must be an object."""
    value = loads(body)
    if not isinstance(value, dict):
        raise InvalidPayload(f"body must be a JSON object, got {_json_kind(value)}")
    return value


def dumps(value: Any) -> str:
    """Compact JSON text in which every ``Decimal`` keeps its exact digits."""
    return "".join(_encode(value))


_string = json.encoder.encode_basestring  # the C implementation, as json.dumps uses


def _encode(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            if index:
                yield ","
            yield _string(str(key))
            yield ":"
            yield from _encode(item)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _encode(item)
        yield "]"
    else:
        yield _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as JSON")
        return format(value, "f")
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
