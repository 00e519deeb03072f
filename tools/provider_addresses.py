"""Refresh ``infra/provider_addresses.json``: the addresses Stripe and Square publish for their
webhooks, which the edge's AWS WAF rules let past the rate limit (``make provider-addresses``,
then ``pulumi up``).

* Stripe publishes a JSON list, ``{"WEBHOOKS": ["3.18.12.63", ...]}``, and announces changes to
  it ahead of time (https://docs.stripe.com/ips).
* Square lists its addresses on its webhooks page; they are read from the page's text, and the
  refresh stops if it finds none (the page changed: read it and update the file by hand).
* Adyen is left out on purpose: it advises against allow-listing its addresses, which change,
  and recommends verifying the HMAC signature instead (the receiver always does).

Each list is written with its source and today's date; nothing is written unless every provider
gave a valid list. ``--check`` only says whether the file is current.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

FILE: Final = Path(__file__).resolve().parent.parent / "infra" / "provider_addresses.json"
SOURCES: Final = {
    "stripe": "https://stripe.com/files/ips/ips_webhooks.json",
    "square": "https://developer.squareup.com/docs/webhooks/overview",
}
#: The widest block a list may hold: the providers publish single addresses.
MIN_PREFIX: Final = 24
#: What fetching a source may take, in bytes and seconds.
MAX_BYTES: Final = 2_000_000
TIMEOUT_SECONDS: Final = 20
_IPV4: Final = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?\b")

Fetch = Callable[[str], bytes]


class SourceChanged(Exception):
    """A provider's list could not be read as expected."""


def fetch(url: str) -> bytes:
    """The document at ``url`` (https only), bounded."""
    if not url.startswith("https://"):
        raise SourceChanged(f"{url}: only https sources are read")
    request = urllib.request.Request(url, headers={"User-Agent": "webhook-processor"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        body: bytes = response.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise SourceChanged(f"{url}: larger than {MAX_BYTES} bytes")
    return body


def _networks(texts: Sequence[str], provider: str) -> list[str]:
    """Each address as a CIDR block (``/32`` for one address); public IPv4 only."""
    found = set()
    for text in texts:
        try:
            network = ipaddress.ip_network(text.strip(), strict=True)
        except ValueError as exc:
            raise SourceChanged(f"{provider}: {text!r} is no IPv4 address") from exc
        if network.version != 4 or not network.is_global:
            raise SourceChanged(f"{provider}: {text!r} is no public IPv4 address")
        if network.prefixlen < MIN_PREFIX:
            raise SourceChanged(
                f"{provider}: {text!r} is wider than /{MIN_PREFIX}: no provider sends from so "
                "many addresses; read the source before allowing it"
            )
        found.add(str(network))
    if not found:
        raise SourceChanged(f"{provider}: no addresses found")
    return sorted(found, key=ipaddress.ip_network)


def stripe(body: bytes) -> list[str]:
    try:
        listed = json.loads(body)["WEBHOOKS"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceChanged("stripe: the list is not {'WEBHOOKS': [...]} any more") from exc
    if not isinstance(listed, list) or not all(isinstance(a, str) for a in listed):
        raise SourceChanged("stripe: WEBHOOKS is not a list of addresses")
    return _networks(listed, "stripe")


def square(body: bytes) -> list[str]:
    """The addresses of the page's production list ("Production IP addresses:", up to the
    sandbox's when the page names them)."""
    text = re.sub(r"<[^>]+>", " ", body.decode("utf-8", "replace"))
    start = text.find("Production IP address")
    if start < 0:
        raise SourceChanged("square: the page no longer lists IP addresses")
    section = text[start:]
    sandbox = section.lower().find("sandbox")
    if sandbox > 0:
        section = section[:sandbox]
    return _networks(_IPV4.findall(section), "square")


READERS: Final[dict[str, Callable[[bytes], list[str]]]] = {"stripe": stripe, "square": square}


def refreshed(get: Fetch = fetch, today: str | None = None) -> dict[str, Any]:
    """The file's new content, every provider's list read anew."""
    as_of = today or datetime.now(UTC).date().isoformat()
    return {
        "about": (
            "The webhook source addresses Stripe and Square publish; the edge allows them past "
            "its rate limit. Refresh: make provider-addresses (tools/provider_addresses.py)."
        ),
        "providers": {
            provider: {"source": url, "as_of": as_of, "addresses": READERS[provider](get(url))}
            for provider, url in SOURCES.items()
        },
    }


def main(argv: Sequence[str] | None = None, get: Fetch = fetch) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.provider_addresses", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--file", type=Path, default=FILE, help=f"default {FILE.name}")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the published lists differ; write nothing"
    )
    args = parser.parse_args(argv)
    try:
        new = refreshed(get)
    except (SourceChanged, OSError) as exc:
        print(f"provider addresses not refreshed: {exc}", file=sys.stderr)
        return 2
    old = json.loads(args.file.read_text()) if args.file.exists() else {"providers": {}}
    changes = {
        provider: (
            set(old["providers"].get(provider, {}).get("addresses", [])),
            set(entry["addresses"]),
        )
        for provider, entry in new["providers"].items()
    }
    for provider, (before, after) in changes.items():
        print(f"{provider}: {len(after)} addresses, +{len(after - before)} -{len(before - after)}")
    if args.check:
        return 1 if any(before != after for before, after in changes.values()) else 0
    args.file.write_text(json.dumps(new, indent=2) + "\n")
    print(f"wrote {args.file.name}; pulumi up to apply it to the edge's allow-list")
    return 0


if __name__ == "__main__":
    sys.exit(main())
