"""What is new for a list: the national messages and local stories an edition may carry. Pure.

- **Already sent to the list:** a national message (by id or link) or a local story (by its file name)
  that an earlier edition of the same channel carried, sent or on its way (not cancelled or missed), is
  left out.
- **The window:** a national message published before the window's first day is left out. The window
  starts `window_days` before the issue day when the entry sets it; otherwise on the day the entry's
  previous edition was composed (its cadence: monthly for a monthly newsletter, quarterly for a
  quarterly briefing); for an entry's first edition, DEFAULT_WINDOW_DAYS before the issue day. Local
  stories are taken from the same window, up to the issue day.
- **Pins:** what an entry pins in the calendar (`pin`: a story's file name, a national message's link)
  is carried first by each of its editions, whatever its age and whoever had it.
- **Nothing new:** when neither a message nor a story is new (pinned repeats are not new), the edition
  is still composed with its key messages, and `notice` tells the approver so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pipeline.records import NationalMessage
from pipeline.workspace import Story

DEFAULT_WINDOW_DAYS = 31  # an entry's first edition, when it sets no window_days
MESSAGES_PER_EDITION = 6
STORIES_PER_EDITION = 4


@dataclass(frozen=True)
class Sent:
    """What a list already had: message ids and links, and story file names."""

    message_ids: frozenset[int] = frozenset()
    links: frozenset[str] = frozenset()
    stories: frozenset[str] = frozenset()

    def has_message(self, msg: NationalMessage) -> bool:
        return (msg.id is not None and msg.id in self.message_ids) or (bool(msg.link) and msg.link in self.links)


def sent_before(editions: Iterable[dict[str, Any]]) -> Sent:
    """The national messages and stories in these editions' stored inputs."""
    ids: set[int] = set()
    links: set[str] = set()
    stories: set[str] = set()
    for inputs in editions:
        for m in inputs.get("national", []):
            if m.get("id") is not None:
                ids.add(int(m["id"]))
            if m.get("link"):
                links.add(str(m["link"]))
        for s in inputs.get("stories", []):
            stories.add(str(s.get("slug") or f"{s.get('title')}@{s.get('day')}"))
    return Sent(frozenset(ids), frozenset(links), frozenset(stories))


@dataclass(frozen=True)
class Window:
    start: date
    why: str  # after "nothing new": "since the last edition (1 November 2026)"


def edition_window(issue: date, previous: date | None, window_days: int | None) -> Window:
    if window_days is not None:
        return Window(
            issue - timedelta(days=window_days), f"in the {window_days} days set for this entry (window_days)"
        )
    if previous is not None and previous < issue:
        return Window(previous, f"since the last edition ({previous:%-d %B %Y})")
    return Window(
        issue - timedelta(days=DEFAULT_WINDOW_DAYS), f"in the {DEFAULT_WINDOW_DAYS} days before this first edition"
    )


@dataclass(frozen=True)
class Fresh:
    messages: tuple[NationalMessage, ...]
    stories: tuple[Story, ...]
    window: Window
    repeats_left_out: int  # already sent to the list
    old_left_out: int  # published before the window
    pinned: int  # taken only because the entry pins them (sent before, or older than the window)

    @property
    def new(self) -> int:
        return len(self.messages) + len(self.stories) - self.pinned

    def summary(self) -> dict[str, Any]:
        """JSON-safe, stored with the edition's inputs for the approver's notice."""
        return {
            "new": self.new,
            "window_start": self.window.start.isoformat(),
            "window": self.window.why,
            "repeats_left_out": self.repeats_left_out,
            "old_left_out": self.old_left_out,
            "pinned": self.pinned,
        }


def _published(msg: NationalMessage) -> date | None:
    return msg.published_at.date() if msg.published_at else None


def choose(
    messages: Iterable[NationalMessage],
    stories: Iterable[Story],
    sent: Sent,
    window: Window,
    pins: Iterable[str],
    issue: date,
) -> Fresh:
    """The messages (newest first, as given) and stories in the window and new to the list; a pinned
    one is taken first, whatever its age and whoever had it."""
    pinned = set(pins)
    repeats = old = kept_pins = 0
    picked: list[NationalMessage] = []
    for msg in sorted(messages, key=lambda m: m.link not in pinned):  # stable: pins first, then as given
        day = _published(msg)
        stale = day is not None and day < window.start
        had = sent.has_message(msg)
        if msg.link not in pinned and (stale or had):
            old += stale
            repeats += had and not stale
        elif len(picked) < MESSAGES_PER_EDITION:
            picked.append(msg)
            kept_pins += stale or had
    chosen: list[Story] = []
    for story in sorted(stories, key=lambda s: s.slug not in pinned):
        outside = not window.start <= story.day <= issue
        had = story.slug in sent.stories or f"{story.title}@{story.day.isoformat()}" in sent.stories
        if story.slug not in pinned and (outside or had):
            repeats += had and not outside
        elif len(chosen) < STORIES_PER_EDITION:
            chosen.append(story)
            kept_pins += outside or had
    return Fresh(tuple(picked), tuple(chosen), window, repeats, old, kept_pins)


def notice(summary: dict[str, Any] | None) -> str | None:
    """The approver's notice for an edition with nothing new (from `Fresh.summary`), else None."""
    if not summary or summary.get("new", 1) > 0:
        return None
    left = []
    if summary.get("repeats_left_out"):
        left.append(f"{summary['repeats_left_out']} already sent to this list")
    if summary.get("old_left_out"):
        left.append(f"{summary['old_left_out']} published before the window")
    pinned = summary.get("pinned", 0)
    return (
        f"Nothing new {summary.get('window', 'since the last edition')}: no national message or local story "
        "that this list has not had already"
        + (f" (left out: {', '.join(left)})" if left else "")
        + (f"; {pinned} pinned item(s) repeated" if pinned else "")
        + ". It carries its key messages only: approve it if that is worth sending, or cancel it."
    )
