"""Time checking, finding collisions in, and planning a month of a 10,000-entry calendar (issues 14, 15).

.venv/bin/python benchmarks/calendar_10k.py [entries] [month]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from content_calendar.calendar import load_calendar
from content_calendar.collisions import find_collisions
from content_calendar.plan import plan_month
from content_calendar.strategy import load_strategy

ROOT = Path(__file__).resolve().parent.parent
REPEATS = (
    "",
    "daily",
    "every weekday",
    "weekly",
    "every 2 weeks on Thursday",
    "monthly on the first Tuesday",
    "quarterly",
    "each school term at the start",
    "FREQ=DAILY;INTERVAL=3",
)
CHANNELS = ("facebook", "x", "resident-newsletter", "headteacher-bulletin", "intranet", "website")


def write_calendar(path: Path, n: int) -> None:
    lines = ["id,title,channel,audiences,objectives,start_date,time,repeat,until,on_school_holiday"]
    for i in range(n):
        repeat = REPEATS[i % len(REPEATS)]
        day = 1 + i % 28
        lines.append(
            f"e{i},Entry {i},{CHANNELS[i % len(CHANNELS)]},residents;parents,1;3,2026-{1 + i % 12:02d}-{day:02d},"
            f"{8 + i % 10:02d}:{i % 60:02d},{repeat},2027-08-31,{('keep', 'move', 'skip')[i % 3]}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    month = sys.argv[2] if len(sys.argv) > 2 else "2026-11"
    strategy = load_strategy(ROOT / "examples" / "thurrock" / "strategy.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        write_calendar(path, n)
        t0 = time.perf_counter()
        entries = load_calendar([path], strategy)
        t1 = time.perf_counter()
        occurrences = plan_month(strategy, entries, month)
        t2 = time.perf_counter()
        collisions = find_collisions(strategy, entries)
        t3 = time.perf_counter()
    print(
        f"{len(entries)} entries checked in {t1 - t0:.2f} s; "
        f"{len(occurrences)} occurrences in {month} planned in {t2 - t1:.2f} s; "
        f"{len(collisions)} collisions found over the whole calendar in {t3 - t2:.2f} s"
    )


if __name__ == "__main__":
    main()
