"""Accessibility checks on a composed edition. A failing check fails the edition with a list of problems."""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser

VAGUE_LINKS = {"click here", "here", "read more", "more", "link", "this link", "click", "find out more"}
MAX_SUBJECT = 80


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.headings: list[int] = []
        self.links: list[str] = []
        self._link: list[str] | None = None
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "a":
            self._link = []
        elif tag == "img":
            decorative = a.get("role") == "presentation" or "decorative" in (a.get("class") or "")
            if a.get("alt") is None or (not (a.get("alt") or "").strip() and not decorative):
                self.problems.append(f"image {a.get('src', '?')!r} has no alt text (or mark it decorative)")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.links.append(" ".join("".join(self._link).split()))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link.append(data)


def check_edition(subject: str, html: str, text: str) -> list[str]:
    """Every problem found: alt text, lang, heading order, vague link text, subject length, text part.
    The same edition is checked once per process (the item page shows the result at every view)."""
    return list(_checked(subject, html, text))


@functools.lru_cache(maxsize=32)
def _checked(subject: str, html: str, text: str) -> tuple[str, ...]:
    return tuple(_check(subject, html, text))


def _check(subject: str, html: str, text: str) -> list[str]:
    scan = _Scan()
    scan.feed(html)
    problems = list(scan.problems)
    if not scan.lang or scan.lang == "und":
        problems.append("the email has no language set (lang on <html>)")
    previous = 0
    for level in scan.headings:
        if level > previous + 1:
            problems.append(f"heading h{level} follows h{previous or 'nothing'}: headings must not skip a level")
        previous = level
    for link in scan.links:
        if link.lower().strip(" .!:") in VAGUE_LINKS:
            problems.append(f"link text {link!r} does not say where it goes")
    if len(subject) >= MAX_SUBJECT:
        problems.append(f"the subject has {len(subject)} characters; keep it under {MAX_SUBJECT}")
    if not subject.strip():
        problems.append("the subject is empty")
    if not text.strip():
        problems.append("there is no plain-text part")
    return problems
