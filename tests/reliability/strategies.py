"""Hypothesis strategies for what a sender can put on the wire: JSON text with hostile leaves,
provider-shaped bodies with one leaf replaced, and header sets around a valid signature.

Bodies are built as JSON *text*, so a strategy can write what no Python value round-trips to:
``1e-999999999``, a 5,000-digit integer, a lone ``\\ud800`` escape. Provider bodies start from
each provider's own sample (``Provider.sample``), so a provider added to the registry is
covered without touching this module.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from webhook_processor import codec
from webhook_processor.providers.base import Provider, Sample

#: JSON number texts a sender may write, hostile ones included.
numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.integers(1, 6000).map(lambda digits: "9" * digits),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.tuples(st.integers(-99, 99), st.integers(-(10**9), 10**9)).map(
        lambda parts: f"{parts[0]}e{parts[1]}"
    ),
    st.sampled_from(["0", "-0", "1e4300", "1e-999999999", "1E+999999999", "0.1e-7", "123.0"]),
)

#: JSON string texts: printable, with escapes, and with lone or paired surrogate escapes.
strings = st.one_of(
    st.text(max_size=40).map(lambda text: json.dumps(text, ensure_ascii=False)),
    st.sampled_from(
        ['"\\ud800"', '"x\\udfff"', '"\\ud83d\\ude00"', '"\\u0000"', '"\\\\ud800"', '"\\n\\t"']
    ),
    st.integers(0, 3000).map(lambda n: json.dumps("x" * n)),
)

scalars = st.one_of(numbers, strings, st.sampled_from(["true", "false", "null"]))


def _container(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arrays = st.lists(children, max_size=3).map(lambda items: "[" + ",".join(items) + "]")
    objects = st.lists(st.tuples(strings, children), max_size=3).map(
        lambda pairs: "{" + ",".join(f"{key}:{value}" for key, value in pairs) + "}"
    )
    return st.one_of(arrays, objects)


#: A JSON value: mostly a hostile scalar, sometimes a small container of them (one level:
#: deeper nesting is covered by the junk bodies, and costs the generator far more time).
json_values = st.one_of(scalars, _container(scalars))
near_json = st.one_of(
    json_values,
    st.sampled_from(["", "{", "[" * 5000, "NaN", '{"a":Infinity}', "\xff", '{"a":1,}']),
    st.integers(1, 20).map(lambda depth: "[" * depth * 100 + "]" * depth * 100),
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def sample_body(provider: Provider, event_id: str) -> Any:
    """The provider's sample event, parsed (with exact decimals)."""
    sample = Sample(event_id, Decimal("19.99"), "USD", "succeeded", NOW)
    return json.loads(provider.sample(sample), parse_float=Decimal)


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (containers included), the root excluded."""
    paths = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        paths.append((*path, key))
        paths.extend(leaf_paths(item, (*path, key)))
    return paths


def replace_at(value: Any, path: tuple[Any, ...], marker: str) -> Any:
    """A copy of ``value`` whose item at ``path`` is the string ``marker``."""
    if not path:
        return marker
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replace_at(value[path[0]], path[1:], marker)
    return copy


@st.composite
def provider_bodies(draw: st.DrawFn, provider: Provider) -> bytes:
    """The provider's sample with a few values replaced by hostile JSON text, or junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(near_json).encode("utf-8", "surrogatepass")
    body = sample_body(provider, draw(st.sampled_from(["evt_1", "msg_1", "x" * 300, "e\\n1"])))
    paths = leaf_paths(body)
    chosen = draw(st.lists(st.sampled_from(paths), min_size=1, max_size=2, unique=True))
    literals = {}
    for n, path in enumerate(chosen):
        marker = f"@@{n}@@"
        try:
            body = replace_at(body, path, marker)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
        literals[json.dumps(marker)] = draw(json_values)
    text = codec.dumps(body)
    for marker, literal in literals.items():
        text = text.replace(marker, literal, 1)
    return text.encode("utf-8", "surrogatepass")
