"""The calendar pages' forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

import re
from datetime import datetime, time

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Form, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from pipeline.services.overrides import MAX_REASON
from pipeline.web.admin import parse_day

NO_MAXLENGTH = {"maxlength": False}


class UploadForm(FlaskForm):
    file = FileField(
        "Calendar file",
        description="A CSV or YAML file with one row per entry, as `comms calendar check` reads it",
        validators=[FileRequired("Choose a CSV or YAML calendar file")],
    )


class ApplyForm(FlaskForm):
    """Apply the difference shown: the staged upload and the stored plan's digest it was made against."""

    token = HiddenField(validators=[DataRequired("The page was missing its upload: upload the file again")])
    base = HiddenField()


def _reason(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        render_kw=NO_MAXLENGTH,
        validators=[
            DataRequired("Enter why, so the team knows"),
            Length(max=MAX_REASON, message=f"The reason must be {MAX_REASON} characters or fewer"),
        ],
    )


class SkipForm(FlaskForm):
    reason = _reason("Why skip it?")


class RestoreForm(FlaskForm):
    """Put the occurrence back where the plan puts it."""


def parse_time(text: str) -> time:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(text)
    return time(int(match.group(1)), int(match.group(2)))


class MoveForm(FlaskForm):
    day = StringField("New date", description="For example, 9/12/2026", validators=[DataRequired("Enter the new date")])
    at = StringField(
        "New time (UK time)", description="For example, 14:30", validators=[DataRequired("Enter the new time")]
    )
    reason = _reason("Why move it?")

    def validate_day(self, field: StringField) -> None:
        try:
            parse_day(field.data or "")
        except ValueError:
            raise ValidationError("The new date must be a real date, like 9/12/2026") from None

    def validate_at(self, field: StringField) -> None:
        try:
            parse_time(field.data or "")
        except ValueError:
            raise ValidationError("The new time must be a time of day, like 14:30") from None

    def moment(self) -> datetime:
        """The new day and time, naive: the core reads it in the strategy's zone (Europe/London)."""
        return datetime.combine(parse_day(self.day.data or ""), parse_time(self.at.data or ""))


class Filters(Form):
    """The calendar's filters, sent as a GET query so a filtered month can be bookmarked."""

    month = HiddenField()
    view = HiddenField()
    objective = SelectField("Objective", choices=[], validate_choice=False)
    audience = SelectField("Audience", choices=[], validate_choice=False)
    channel = SelectField("Channel", choices=[], validate_choice=False)
