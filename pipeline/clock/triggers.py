"""When the clock wakes the pipeline: the two cron triggers, in one place.

The clock process (`pipeline.clock.scheduler`) schedules its jobs with these, and `comms status`
(`pipeline.services.control`) shows the next wake-ups computed from them, without a scheduler running.
This module imports neither the jobs nor the process's context, so a use case can read it.

No trigger fires between 01:00 and 02:00 local time, the hour the clock changes skip or repeat.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pipeline.settings import Settings

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

WAKE_HOURS = "0,2-23"  # never 01:00-01:59 local
WAKE = "wake"  # collect, compose and send what is due, every five minutes
MONTHLY_REPORT = "monthly-report"  # last month's report, on the first working days at 08:00
MEASURE = "measure"  # each channel's own figures of what it published, daily at 06:30


def quiet_hours() -> frozenset[int]:
    """The local hours in which the wake trigger never fires (01 with WAKE_HOURS "0,2-23"): the staff
    notifications' clock watchdog does not count them as silence."""
    awake: set[int] = set()
    for part in WAKE_HOURS.split(","):
        first, _, last = part.partition("-")
        awake.update(range(int(first), int(last or first) + 1))
    return frozenset(set(range(24)) - awake)


def cron_triggers(tz: ZoneInfo) -> dict[str, CronTrigger]:
    """Each clock job's trigger, by the job's id."""
    from apscheduler.triggers.cron import CronTrigger  # imported on use: the command line starts faster

    return {
        WAKE: CronTrigger(minute="*/5", hour=WAKE_HOURS, timezone=tz),
        MONTHLY_REPORT: CronTrigger(day="1-7", day_of_week="mon-fri", hour=8, minute=0, timezone=tz),
        MEASURE: CronTrigger(hour=6, minute=30, timezone=tz),
    }


def next_wakeups(settings: Settings, now: datetime, count: int = 10) -> list[tuple[str, datetime]]:
    """The next `count` wake-ups of every job, computed from the triggers alone (no scheduler runs)."""
    out: list[tuple[str, datetime]] = []
    for name, trigger in cron_triggers(settings.tz).items():
        previous, moment = None, now.astimezone(settings.tz)
        for _ in range(count):
            fire = trigger.get_next_fire_time(previous, moment)
            if fire is None:
                break
            out.append((name, fire))
            previous, moment = fire, fire + timedelta(seconds=1)
    return sorted(out, key=lambda pair: pair[1])[:count]
