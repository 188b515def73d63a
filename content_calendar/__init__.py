"""Pure planning: the team's strategy and calendar files, repeat rules and UK calendar rules.

Nothing in this package touches a database or the network. It loads and validates files, expands a
month into occurrences, and exports them as JSON, iCalendar or a month grid.
"""

from content_calendar.errors import CalendarError, CommsError, Problem
from content_calendar.models import Entry, Occurrence, Strategy
from content_calendar.plan import plan_month

__all__ = ["CalendarError", "CommsError", "Entry", "Occurrence", "Problem", "Strategy", "plan_month"]
