"""``make provider-addresses``: the providers' published lists read into the edge's allow-list,
offline (the sources are answered by a fake fetch with documents of the providers' shapes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import provider_addresses as tool

STRIPE = json.dumps({"WEBHOOKS": ["3.18.12.63", "3.130.192.231", "13.235.14.237"]}).encode()
#: The shape of Square's webhooks overview: "Webhooks from Square originate from the following
#: IP addresses. ... Production IP addresses:" then the sandbox's.
SQUARE = b"""<html><body><p>Webhooks from Square originate from the following IP addresses.
These are provided so you can allow access by these addresses through a firewall.</p>
<p>Production IP addresses:</p><ul><li>54.245.1.154</li><li>34.202.99.168</li></ul>
<p>Sandbox IP addresses:</p><ul><li>54.212.177.79</li><li>107.20.218.8</li></ul></body></html>"""


def _answers(stripe: bytes = STRIPE, square: bytes = SQUARE) -> tool.Fetch:
    documents = {tool.SOURCES["stripe"]: stripe, tool.SOURCES["square"]: square}
    return documents.__getitem__


def test_the_lists_are_written_with_their_source_and_date(tmp_path: Path) -> None:
    target = tmp_path / "addresses.json"
    assert tool.main(["--file", str(target)], get=_answers()) == 0
    written = json.loads(target.read_text())["providers"]
    assert written["stripe"]["addresses"] == [
        "3.18.12.63/32",
        "3.130.192.231/32",
        "13.235.14.237/32",
    ]
    assert written["stripe"]["source"] == tool.SOURCES["stripe"]
    # Square's production addresses only: the sandbox's come after its heading.
    assert written["square"]["addresses"] == ["34.202.99.168/32", "54.245.1.154/32"]
    assert {entry["as_of"] for entry in written.values()} == {
        tool.datetime.now(tool.UTC).date().isoformat()
    }
    assert "adyen" not in written  # it advises against allow-listing


def test_check_says_whether_the_published_lists_changed(tmp_path: Path) -> None:
    target = tmp_path / "addresses.json"
    tool.main(["--file", str(target)], get=_answers())
    before = target.read_text()
    assert tool.main(["--file", str(target), "--check"], get=_answers()) == 0
    moved = json.dumps({"WEBHOOKS": ["3.18.12.63", "52.15.183.38"]}).encode()
    assert tool.main(["--file", str(target), "--check"], get=_answers(stripe=moved)) == 1
    assert target.read_text() == before  # --check writes nothing


@pytest.mark.parametrize(
    ("stripe", "square", "message"),
    [
        (b"<html>moved</html>", SQUARE, "stripe: the list is not"),
        (json.dumps({"WEBHOOKS": []}).encode(), SQUARE, "stripe: no addresses found"),
        (json.dumps({"WEBHOOKS": ["10.0.0.1"]}).encode(), SQUARE, "is no public IPv4 address"),
        (json.dumps({"WEBHOOKS": ["2600:1f18::1"]}).encode(), SQUARE, "is no public IPv4"),
        (json.dumps({"WEBHOOKS": ["3.0.0.0/8"]}).encode(), SQUARE, "is wider than /24"),
        (STRIPE, b"<html>We moved this page</html>", "square: the page no longer lists"),
    ],
)
def test_a_list_that_cannot_be_read_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stripe: bytes, square: bytes, message: str
) -> None:
    target = tmp_path / "addresses.json"
    target.write_text('{"providers": {}}')
    assert tool.main(["--file", str(target)], get=_answers(stripe, square)) == 2
    assert message in capsys.readouterr().err
    assert target.read_text() == '{"providers": {}}'


def test_only_https_sources_are_read() -> None:
    with pytest.raises(tool.SourceChanged, match="only https"):
        tool.fetch("http://example.com/ips.json")


def test_the_repository_file_is_what_the_tool_writes() -> None:
    """Same shape, every address a public IPv4 block, every list dated."""
    document = json.loads(tool.FILE.read_text())
    assert set(document["providers"]) == set(tool.SOURCES)
    for provider, entry in document["providers"].items():
        assert entry["source"] == tool.SOURCES[provider]
        assert tool._networks(entry["addresses"], provider) == entry["addresses"]
        assert tool.datetime.fromisoformat(entry["as_of"])


class _Response:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def read(self, limit: int) -> bytes:
        return self.body[:limit]

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *_: object) -> None:
        return None


def test_a_source_is_read_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def urlopen(request: object, timeout: float) -> _Response:
        asked.append((request, timeout))
        return _Response(STRIPE)

    monkeypatch.setattr(tool.urllib.request, "urlopen", urlopen)
    assert tool.fetch(tool.SOURCES["stripe"]) == STRIPE
    assert asked[0][1] == tool.TIMEOUT_SECONDS
    monkeypatch.setattr(
        tool.urllib.request, "urlopen", lambda *_, **__: _Response(b"x" * (tool.MAX_BYTES + 5))
    )
    with pytest.raises(tool.SourceChanged, match="larger than"):
        tool.fetch(tool.SOURCES["stripe"])


def test_a_source_that_cannot_be_reached_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def unreachable(url: str) -> bytes:
        raise OSError("no route to host")

    target = tmp_path / "addresses.json"
    assert tool.main(["--file", str(target)], get=unreachable) == 2
    assert "no route to host" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize(
    "listed", [json.dumps({"WEBHOOKS": "3.18.12.63"}), json.dumps({"WEBHOOKS": ["bogus"]})]
)
def test_a_stripe_list_of_anything_but_addresses_is_refused(listed: str) -> None:
    with pytest.raises(tool.SourceChanged, match="stripe"):
        tool.stripe(listed.encode())
