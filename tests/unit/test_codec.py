from __future__ import annotations

import json
from decimal import Decimal

import pytest

from webhook_processor import codec
from webhook_processor.errors import InvalidPayload


def test_dumps_writes_decimals_as_their_exact_number_text() -> None:
    text = codec.dumps({"a": Decimal("19.99"), "b": [Decimal("0.001"), Decimal("1E+3")]})
    # An exponent stays an exponent: written out, 1E+300 would be 301 bytes from 6.
    assert text == '{"a":19.99,"b":[0.001,1E+3]}'
    # A float consumer reads the same value; a decimal consumer reads it exactly.
    assert json.loads(text)["a"] == 19.99
    assert json.loads(text, parse_float=Decimal)["a"] == Decimal("19.99")


def test_dumps_matches_json_for_everything_else() -> None:
    value = {"s": 'é"\n', "i": 3, "t": True, "n": None, "l": [1, "x"], "o": {"k": []}}
    assert json.loads(codec.dumps(value)) == value


def test_dumps_with_a_decimal_writes_everything_else_as_json_does() -> None:
    # 19.99 as a float has the same text as the Decimal: the rest must match json.dumps exactly.
    shape = {"s": 'é"\n', "e": {}, "z": [], "t": (1, None, True), "o": {"k": [{"x": "y"}], 2: 3}}
    expected = json.dumps({**shape, "d": 19.99}, ensure_ascii=False, separators=(",", ":"))
    assert codec.dumps({**shape, "d": Decimal("19.99")}) == expected


def test_dumps_refuses_non_finite_decimals() -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        codec.dumps(Decimal("NaN"))


def test_loads_round_trips_metadata_decimals_exactly() -> None:
    text = '{"rate":0.1234567890123456789,"n":[1.10]}'
    assert codec.dumps(codec.loads(text)) == text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (b'{"amount": NaN}', "NaN is not valid JSON"),
        (b'{"amount": Infinity}', "Infinity is not valid JSON"),
        (b'{"amount": -Infinity}', "-Infinity is not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_loads_rejects(body: bytes, message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        codec.loads(body)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"[]", "an array"),
        (b'"x"', "a string"),
        (b"null", "null"),
        (b"1", "a number"),
        (b"true", "a boolean"),
    ],
)
def test_loads_object_names_what_it_got(body: bytes, kind: str) -> None:
    with pytest.raises(InvalidPayload, match=f"must be a JSON object, got {kind}"):
        codec.loads_object(body)


def test_loads_stored_reads_integers_python_refuses_as_decimals() -> None:
    text = '{"x":1' + "0" * 4300 + "}"
    assert codec.loads_stored(text) == {"x": Decimal("1e4300")}
    # Written back with an exponent, which every JSON reader can take.
    written = codec.dumps(codec.loads_stored(text))
    assert json.loads(written, parse_float=Decimal) == {"x": Decimal("1e4300")}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"x": 1' + b"0" * 100 + b"}", "101 characters; the limit is 100"),
        (b'{"x": 1e301}', "exponent beyond"),
        (b'{"x": 1e-301}', "exponent beyond"),
        (b'["\\ud800"]', "lone UTF-16 surrogate"),
        (b'{"\\udc00": 1}', "lone UTF-16 surrogate"),
        (b'{"a": [[{"b": "\\udbff\\u0041"}]]}', "lone UTF-16 surrogate"),
    ],
)
def test_loads_bounds_numbers_and_refuses_unencodable_strings(body: bytes, message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        codec.loads(body)


def test_loads_keeps_surrogate_pairs_and_escaped_backslashes() -> None:
    assert codec.loads(b'["\\ud83d\\ude00", "\\\\ud800", 1e300, 1e-300]') == [
        "\U0001f600",
        "\\ud800",
        Decimal("1e300"),
        Decimal("1e-300"),
    ]
