"""Feed HTML is untrusted. It is cleaned to a small safe subset before it reaches any template:
no script, style, event handlers or iframes; links only to http(s) (javascript:, vbscript:, data:,
file:, smb:, mailto: and the rest are dropped); images only from https; relative links made absolute
against the feed item's own URL."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

import nh3

TAGS = {"p", "br", "a", "ul", "ol", "li", "strong", "em", "b", "i", "blockquote", "h3", "h4", "img", "span"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
URL_ATTRS = {"href", "src"}
SCHEMES = {"http", "https"}
_REL_URL = re.compile(r"""(\s(?:href|src)\s*=\s*)(["'])(.*?)\2""", re.I | re.S)


def _absolute(fragment: str, base: str | None) -> str:
    if not base:
        return fragment
    return _REL_URL.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{urljoin(base, html.unescape(m.group(3)))}{m.group(2)}", fragment
    )


def _filter(tag: str, attr: str, value: str) -> str | None:
    if attr in URL_ATTRS:
        scheme = urlsplit(value.strip()).scheme.lower()
        if tag == "img":
            return value if scheme == "https" else None
        return value if scheme in SCHEMES else None
    return value


def sanitise_html(fragment: str, base_url: str | None = None) -> str:
    """Clean untrusted HTML to the safe subset. Images left without an https source are dropped."""
    cleaned = nh3.clean(
        _absolute(fragment or "", base_url),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        attribute_filter=_filter,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return re.sub(r"<img(?![^>]*\ssrc=)[^>]*>", "", cleaned)


class _Text(HTMLParser):
    BLOCKS: ClassVar[set[str]] = {"p", "br", "li", "h3", "h4", "blockquote", "ul", "ol"}

    HIDDEN: ClassVar[set[str]] = {"script", "style", "template", "iframe", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")
        self.hidden += tag in self.HIDDEN

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in self.HIDDEN and self.hidden > 0

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data.replace("\n", " "))


def html_to_text(fragment: str, limit: int | None = None) -> str:
    """Readable text from (sanitised) HTML, whitespace tidied, cut at a word boundary."""
    parser = _Text()
    parser.feed(fragment or "")
    text = re.sub(r"[ \t]+", " ", "".join(parser.parts))
    text = re.sub(r"\s*\n\s*", "\n", text).strip()
    if limit and len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
    return text
