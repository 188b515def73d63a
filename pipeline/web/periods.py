"""The month (`?month=2026-11`) and the quarter (`?quarter=2026Q4`) a page is asked for in its address,
read one way by every page that takes them (the calendar, the reports, the metrics).

Absent or blank, it is this month (or quarter) in the workspace's time zone (Europe/London), as the
pages' clock (`auth.now`) has it. Malformed or impossible (`2026-13`, `2026-1`, `abc`), the page shows
this month as well, with a message naming the field in its error summary, and answers 400: a mistyped
address is the person's to correct, never an error page or a traceback. A year outside 2000 to 2099 is
taken for a typo (`0226-11`) rather than planned or reported on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import request
from wtforms import Field, Form
from wtforms.validators import ValidationError

from pipeline.services.reports import current_month, current_quarter
from pipeline.web.auth import ctx, now

YEARS = range(2000, 2100)
SHOWN = 20  # characters of a bad value quoted back in the message


@dataclass(frozen=True)
class Shape:
    """How a period is written: its field's name, its pattern (the year first) and examples."""

    name: str
    pattern: re.Pattern[str]
    example: str
    span: str  # the first and last of YEARS, written so

    def valid(self, text: str) -> bool:
        found = self.pattern.fullmatch(text)
        return found is not None and int(found.group(1)) in YEARS

    def problem(self, text: str) -> str:
        """Why `text` is not one ("" when it is)."""
        if self.valid(text):
            return ""
        if self.pattern.fullmatch(text):
            return f"{self.name} must be from {self.span}, not “{text[:SHOWN]}”"
        return f"{self.name} must look like {self.example}, not “{text[:SHOWN]}”"


MONTH = Shape("Month", re.compile(r"(\d{4})-(0[1-9]|1[0-2])"), "2026-11", "2000-01 to 2099-12")
QUARTER = Shape("Quarter", re.compile(r"(\d{4})Q([1-4])"), "2026Q4", "2000Q1 to 2099Q4")
is_month, is_quarter = MONTH.valid, QUARTER.valid


@dataclass(frozen=True)
class Asked:
    """The period a page shows, and why it is not the one in the address ("" when it is)."""

    value: str
    error: str = ""

    def problems(self, field_id: str | None) -> list[tuple[str | None, str]]:
        """For the page's error summary: the message, linked to the page's field when it has one."""
        return [(field_id, self.error)] if self.error else []


def _read(shape: Shape, asked: str, this: str) -> Asked:
    """`asked` if it is one; else `this`, with the reason when something was asked."""
    if not asked:
        return Asked(this)
    problem = shape.problem(asked)
    return Asked(this, problem) if problem else Asked(asked)


def month_of(text: str | None, moment: datetime, tz: ZoneInfo) -> Asked:
    """The month a page shows for what its address asked (`text`, None when absent)."""
    return _read(MONTH, (text or "").strip(), current_month(moment, tz))


def quarter_of(text: str | None, moment: datetime, tz: ZoneInfo) -> Asked:
    """The quarter a page shows for what its address asked (`2026q4` is read as 2026Q4)."""
    return _read(QUARTER, (text or "").strip().upper(), current_quarter(moment, tz))


def asked_month(moment: datetime | None = None) -> Asked:
    """The month the request's address asks for (`?month=`), as of `moment` (default: the pages' now)."""
    return month_of(request.args.get("month"), moment or now(), ctx().settings.tz)


def asked_quarter(moment: datetime | None = None) -> Asked:
    """The quarter the request's address asks for (`?quarter=`), as of `moment` (default: the pages' now)."""
    return quarter_of(request.args.get("quarter"), moment or now(), ctx().settings.tz)


def month_field(form: Form, field: Field) -> None:
    """A form field's validator holding a typed month to the same rule as an address's."""
    problem = MONTH.problem(field.data or "")
    if problem:
        raise ValidationError(problem)
