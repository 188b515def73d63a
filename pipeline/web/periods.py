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

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
QUARTER = re.compile(r"(\d{4})Q([1-4])")
YEARS = range(2000, 2100)
SHOWN = 20  # characters of a bad value quoted back in the message


@dataclass(frozen=True)
class Asked:
    """The period a page shows, and why it is not the one in the address ("" when it is)."""

    value: str
    error: str = ""

    def problems(self, field_id: str | None) -> list[tuple[str | None, str]]:
        """For the page's error summary: the message, linked to the page's field when it has one."""
        return [(field_id, self.error)] if self.error else []


def is_month(text: str) -> bool:
    found = MONTH.fullmatch(text)
    return found is not None and int(found.group(1)) in YEARS


def is_quarter(text: str) -> bool:
    found = QUARTER.fullmatch(text)
    return found is not None and int(found.group(1)) in YEARS


def month_problem(text: str) -> str:
    """Why `text` is not a month ("" when it is one)."""
    if is_month(text):
        return ""
    if MONTH.fullmatch(text):
        return f"Month must be from 2000-01 to 2099-12, not “{text[:SHOWN]}”"
    return f"Month must look like 2026-11, not “{text[:SHOWN]}”"


def quarter_problem(text: str) -> str:
    """Why `text` is not a quarter ("" when it is one)."""
    if is_quarter(text):
        return ""
    if QUARTER.fullmatch(text):
        return f"Quarter must be from 2000Q1 to 2099Q4, not “{text[:SHOWN]}”"
    return f"Quarter must look like 2026Q4, not “{text[:SHOWN]}”"


def month_of(text: str | None, moment: datetime, tz: ZoneInfo) -> Asked:
    """The month a page shows for what its address asked (`text`, None when absent)."""
    asked = (text or "").strip()
    this = current_month(moment, tz)
    if not asked:
        return Asked(this)
    problem = month_problem(asked)
    return Asked(this, problem) if problem else Asked(asked)


def quarter_of(text: str | None, moment: datetime, tz: ZoneInfo) -> Asked:
    """The quarter a page shows for what its address asked (`2026q4` is read as 2026Q4)."""
    asked = (text or "").strip().upper()
    this = current_quarter(moment, tz)
    if not asked:
        return Asked(this)
    problem = quarter_problem(asked)
    return Asked(this, problem) if problem else Asked(asked)


def asked_month(name: str = "month") -> Asked:
    """The month the request's address asks for (`?month=`), read by `month_of`."""
    return month_of(request.args.get(name), now(), ctx().settings.tz)


def asked_quarter(name: str = "quarter") -> Asked:
    """The quarter the request's address asks for (`?quarter=`), read by `quarter_of`."""
    return quarter_of(request.args.get(name), now(), ctx().settings.tz)


def month_field(form: Form, field: Field) -> None:
    """A form field's validator holding a typed month to the same rule as an address's."""
    problem = month_problem(field.data or "")
    if problem:
        raise ValidationError(problem)
