"""Each destination's text limits, counted the way the destination counts them."""

from __future__ import annotations

import re
import unicodedata

URL = re.compile(r"https?://\S+")

# kind -> (limit, what is counted, characters a link counts as or None for its real length)
LIMITS: dict[str, tuple[int, str, int | None]] = {
    "x": (280, "weighted characters", 23),
    "bluesky": (300, "graphemes", None),
    "mastodon": (500, "characters", 23),
    "facebook": (63206, "characters", None),
    "linkedin": (3000, "characters", None),
    "viva-engage": (10000, "characters", None),
    "sharepoint": (10000, "characters", None),
}


def _weighted(text: str) -> int:
    """X's weighting: most Latin, punctuation and symbols count 1; CJK, emoji and the rest count 2."""
    total = 0
    for ch in text:
        cp = ord(ch)
        light = cp <= 0x10FF or 0x2000 <= cp <= 0x200D or 0x2010 <= cp <= 0x201F or 0x2032 <= cp <= 0x2037
        total += 1 if light else 2
    return total


def _graphemes(text: str) -> int:
    """Approximate extended grapheme clusters: combining marks, joiners and variation selectors
    attach to the character before them."""
    count, join_next = 0, False
    for ch in text:
        attaches = unicodedata.combining(ch) or ch in "\u200d\ufe0f\ufe0e" or 0x1F3FB <= ord(ch) <= 0x1F3FF
        if not attaches and not join_next:
            count += 1
        join_next = ch == "\u200d"
    return count


def length(kind: str, text: str) -> int:
    _limit, counted, link_len = LIMITS.get(kind, (0, "characters", None))
    if link_len is not None:
        text = URL.sub("x" * link_len, text)
    if counted == "weighted characters":
        return _weighted(text)
    if counted == "graphemes":
        return _graphemes(text)
    return len(text)


def check_length(kind: str, text: str) -> list[str]:
    if kind not in LIMITS:
        return []
    limit, counted, _ = LIMITS[kind]
    used = length(kind, text)
    return [f"{used} {counted}, over the {limit} that {kind} allows"] if used > limit else []
