"""The item page's forms (Flask-WTF: every POST carries a CSRF token). A form that changes or approves
content carries `version`, the content hash the page showed, so a change made meanwhile is refused
instead of being approved or overwritten unseen."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from pipeline.services.outbox import MAX_COMMENT

NO_MAXLENGTH = {"maxlength": False}
"""GOV.UK: no maxlength, which cuts off what is typed or pasted without saying so; the error says it."""


class VersionedForm(FlaskForm):
    version = HiddenField(validators=[DataRequired("The page was missing its version: reload it and try again")])


class ApproveForm(VersionedForm):
    """Approve the version shown."""


class ButtonForm(FlaskForm):
    """A button that needs nothing typed: cancel, retry, send me a test."""


class RejectForm(FlaskForm):
    reason = TextAreaField(
        "Why are you rejecting it?",
        render_kw=NO_MAXLENGTH,
        validators=[
            DataRequired("Enter why you are rejecting it, so the author knows what to change"),
            Length(max=1000, message="The reason must be 1,000 characters or fewer"),
        ],
    )


class CommentForm(FlaskForm):
    comment = TextAreaField(
        "Add a comment",
        render_kw=NO_MAXLENGTH,
        validators=[
            DataRequired("Enter a comment"),
            Length(max=MAX_COMMENT, message=f"A comment must be {MAX_COMMENT:,} characters or fewer"),
        ],
    )


class PostEditForm(VersionedForm):
    text = TextAreaField(
        "Text of the post",
        render_kw=NO_MAXLENGTH,
        validators=[
            DataRequired("Enter the text of the post"),
            Length(max=100_000, message="The text must be 100,000 characters or fewer"),
        ],
    )


class EmailEditForm(VersionedForm):
    subject = StringField(
        "Subject",
        render_kw=NO_MAXLENGTH,
        validators=[
            DataRequired("Enter a subject"),
            Length(max=150, message="The subject must be 150 characters or fewer"),
        ],
    )
    preheader = StringField(
        "Preview text",
        render_kw=NO_MAXLENGTH,
        validators=[Length(max=140, message="The preview text must be 140 characters or fewer")],
    )
    intro = TextAreaField(
        "Introduction",
        render_kw=NO_MAXLENGTH,
        validators=[Length(max=2000, message="The introduction must be 2,000 characters or fewer")],
    )
    key_messages = TextAreaField(
        "Key messages", render_kw=NO_MAXLENGTH, validators=[Length(max=5500, message="The key messages are too long")]
    )

    def blocks(self) -> dict[str, object]:
        lines = [line.strip() for line in (self.key_messages.data or "").splitlines()]
        return {
            "subject": self.subject.data or "",
            "preheader": self.preheader.data or "",
            "intro": (self.intro.data or "").replace("\r\n", "\n"),
            "key_messages": [line for line in lines if line],
        }
