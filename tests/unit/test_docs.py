"""The README and docs/: every relative link resolves, to a file and to its heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"])
PAGES += sorted((ROOT / "docs").glob("*.md"))
#: ``[text](target)`` and ``![alt](target)``, outside code spans.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
#: The README stays a page people finish.
README_LINES = 200


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, code marks and punctuation dropped, spaces to
    hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` whose file, or whose heading in it, does not exist."""
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or (
            anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)
        ):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_file_and_its_heading(page: Path) -> None:
    assert broken_links(page) == []


def test_the_pages_link_to_each_other() -> None:
    """Not vacuous: the pages hold links, and every page of docs/ is reached from the README."""
    readme = _links(ROOT / "README.md")
    reached = {(ROOT / link.partition("#")[0]).resolve() for link in readme}
    assert set((ROOT / "docs").glob("*.md")) <= reached
    assert any("#" in link for page in PAGES for link in _links(page))


def test_a_missing_file_a_missing_heading_and_a_missing_picture_are_broken(
    tmp_path: Path,
) -> None:
    (tmp_path / "other.md").write_text("## Two failure queues, and why\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# The `aws` commands: a title\n\n[ok](#the-aws-commands-a-title) [gone](missing.md) "
        "[lost](#nowhere) [there](other.md#two-failure-queues-and-why) "
        "[elsewhere](other.md#nope) ![picture](gone.png) [web](https://example.com/x) "
        "`[code](not-a-link.md)`\n```\n[block](not-a-link.md)\n```\n"
    )
    assert broken_links(page) == ["missing.md", "#nowhere", "other.md#nope", "gone.png"]


def test_the_readme_is_a_page_people_finish() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= README_LINES
