"""The workspace's forms (Flask-WTF: every POST carries a CSRF token). Each field's label and hint are
what the page shows; the validators' messages are what the error summary lists."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from content_calendar.errors import Problem


def sentence(text: object) -> str:
    """A service's message (which starts in lower case, for the command line) as a sentence on a page."""
    words = str(text)
    return words[:1].upper() + words[1:]


class SignInForm(FlaskForm):
    email = StringField("Email address", validators=[DataRequired("Enter your email address"), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=1024)])
    next = HiddenField()


class ActionForm(FlaskForm):
    """A button that changes something and needs nothing typed (sign out, approve, cancel, retry)."""


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired("Enter a reason"), Length(max=1000, message="Keep it under 1,000 characters")],
    )


def file_problems(problems: Iterable[Problem]) -> list[tuple[str | None, str]]:
    """An uploaded file's problems as `FILE:LINE: field: message`, named by the file's own name (never
    the folder it waits in on the server), for an error summary."""
    return [(None, f"{PurePath(p.file).name}:{p.line}: {p.field}: {p.message}") for p in problems]


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """A select's options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]
