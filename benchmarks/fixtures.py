"""Generated inputs at any scale: calendar entries, feeds, subscribers, metric rows."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from pathlib import Path

from content_calendar.models import Entry
from content_calendar.strategy import load_strategy
from pipeline.records import Subscriber

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "thurrock"
REPEATS = [
    "monthly on the first Tuesday",
    "every 2 weeks on Thursday",
    "weekly on Monday",
    "quarterly",
    "last weekday of the month",
    "monthly on day 15",
    "FREQ=MONTHLY;BYDAY=2WE",
    None,
    "each school term at the start",
    "twice a year",
]


def strategy():  # type: ignore[no-untyped-def]
    return load_strategy(EXAMPLE / "strategy.yaml")


def entries(n: int, seed: int = 1) -> list[Entry]:
    rng = random.Random(seed)
    s = strategy()
    channels = [c.code for c in s.channels]
    audiences = [a.code for a in s.audiences]
    out = []
    for i in range(n):
        out.append(
            Entry(
                id=f"e{i}",
                title=f"Entry {i}",
                channel=rng.choice(channels),
                audiences=(rng.choice(audiences),),
                objectives=(str(rng.randint(1, 6)),),
                template="post",
                start=date(2026, 1, 1) + timedelta(rng.randint(0, 60)),
                at=time(rng.choice([8, 9, 10, 12, 14, 19]), rng.choice([0, 15, 30])),
                repeat=REPEATS[i % len(REPEATS)],
                on_school_holiday=rng.choice(["keep", "move"]),
            )
        )
    return out


def rss(feed_no: int, items: int = 20) -> bytes:
    # late October: inside the window of every November edition (31 days back from its day), so the
    # county month's newsletters have something new and go out without waiting for a person
    base = datetime(2026, 10, 28, 9, tzinfo=UTC)
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed {feed_no}</title>'
        f"<link>https://feeds.example/{feed_no}</link><description>d</description>"
    ]
    for i in range(items):
        parts.append(
            f"<item><title>Prevent news {feed_no}.{i}: guidance for schools &amp; parents</title>"
            f"<link>https://news.example/{feed_no}/{i}</link><guid>f{feed_no}-i{i}</guid>"
            f"<pubDate>{format_datetime(base + timedelta(hours=i))}</pubDate>"
            f'<description>&lt;p&gt;Summary {i} with &lt;a href="/x/{i}"&gt;a link&lt;/a&gt; and some '
            f"text about safeguarding and online radicalisation.&lt;/p&gt;</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def subscribers(n: int, audience: str = "headteachers", prefix: str = "school") -> list[Subscriber]:
    return [
        Subscriber(
            f"{prefix}{i}@schools.example.org",
            f"Head Teacher {i}",
            f"School {i}",
            (audience,),
            "benchmark",
            date(2025, 9, 1),
        )
        for i in range(n)
    ]
