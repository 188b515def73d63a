"""The audit log (read and exported by approvers and admins) and the incident freeze (seen by everyone,
pulled and released by admins)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import Form, StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from pipeline.services.audit import AuditService
from pipeline.services.control import ControlService
from pipeline.services.permissions import Permission
from pipeline.services.users import UserService
from pipeline.web.auth import actor, ctx, now, requires
from pipeline.web.forms import ReasonForm

bp = Blueprint("admin", __name__)
PER_PAGE = 50
KINDS = {"person": "web workspace", "cli": "command line", "clock": "the clock", "system": "the pipeline"}


# the audit log ------------------------------------------------------------------------------------
def parse_day(text: str) -> date:
    """A day typed as 5/11/2026 (UK order) or 2026-11-05 (what a date picker sends)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            year, month, day = (int(p) for p in text.split("-"))
            return date(year, month, day)
        if re.fullmatch(r"\d{1,2}[/.]\d{1,2}[/.]\d{4}", text):
            day, month, year = (int(p) for p in re.split(r"[/.]", text))
            return date(year, month, day)
    except ValueError:
        pass
    raise ValueError(text)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight at the start of a UK day, in UTC (23:00 or 00:00 UTC, by the season)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _a_day(label: str) -> Any:
    def check(_form: Form, field: StringField) -> None:
        if field.data and field.data.strip():
            try:
                parse_day(field.data)
            except ValueError:
                raise ValidationError(f"{label} date must be a real date, like 5/11/2026") from None

    return check


class AuditFilters(Form):
    """The filters, sent as a GET query so a filtered page can be bookmarked or shared."""

    who = StringField("Who", validators=[Length(max=254)], description="Their email address, or clock, or system")
    action = StringField(
        "Action", validators=[Length(max=100)], description="What it starts with: item. for every item action"
    )
    target = StringField(
        "Target", validators=[Length(max=300)], description="For example, item:12 or user:sam@x.gov.uk"
    )
    since = StringField("From", validators=[_a_day("From")], description="For example, 1/11/2026")
    until = StringField("To", validators=[_a_day("To")], description="Includes that whole day")

    def validate_until(self, field: StringField) -> None:
        if not (self.since.data and field.data) or self.since.errors or field.errors:
            return  # nothing to compare, or a date already reported as not real
        if parse_day(field.data) < parse_day(self.since.data):
            raise ValidationError("To date must be the same as or after the from date")

    def query(self, tz: ZoneInfo) -> dict[str, Any]:
        """The filters as `AuditService` takes them: UK days turned into UTC bounds, `until` exclusive."""
        since, until = (self.since.data or "").strip(), (self.until.data or "").strip()
        return {
            "who": (self.who.data or "").strip() or None,
            "action": (self.action.data or "").strip() or None,
            "target": (self.target.data or "").strip() or None,
            "since": day_start(parse_day(since), tz) if since else None,
            "until": day_start(parse_day(until) + timedelta(days=1), tz) if until else None,
        }

    def args(self) -> dict[str, str]:
        """The filters as typed, for links to other pages of the same search."""
        return {f.name: f.data.strip() for f in self if f.data and f.data.strip()}


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() and len(raw) < 7 else 1


def _audit_page(filters: AuditFilters, status: int = 200) -> tuple[str, int]:
    tz = ctx().settings.tz
    page, found = _page_number(), None
    if not filters.errors:
        found = AuditService.of(ctx()).search(
            actor(), **filters.query(tz), limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
    pages = max(1, math.ceil(found.total / PER_PAGE)) if found else 1
    return render_template(
        "web/audit.html",
        title="Audit log",
        filters=filters,
        found=found,
        page=page,
        pages=pages,
        args=filters.args(),
        kinds=KINDS,
        error_title=bool(filters.errors),
    ), status


@bp.route("/audit")
@requires(Permission.AUDIT)
def audit() -> tuple[str, int]:
    filters = AuditFilters(request.args)
    return _audit_page(filters, 200 if filters.validate() else 400)


@bp.route("/audit.csv")
@requires(Permission.AUDIT)
def audit_csv() -> BaseResponse | tuple[str, int]:
    filters = AuditFilters(request.args)
    if not filters.validate():
        return _audit_page(filters, 400)
    moment = now()
    service = AuditService.of(ctx())
    body = service.export_csv(actor(), **filters.query(ctx().settings.tz))
    shown = "; ".join(f"{k}={v}" for k, v in filters.args().items()) or "everything"
    service.record(actor(), "audit.exported", moment, "audit", shown)
    name = f"audit-{moment.astimezone(ctx().settings.tz):%Y-%m-%d-%H%M}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# the freeze ---------------------------------------------------------------------------------------
class ResumeForm(FlaskForm):
    note = TextAreaField(
        "Why it is safe to send again (optional)",
        validators=[Length(max=1000, message="Keep it under 1,000 characters")],
    )


def _freeze_page(
    pause: ReasonForm | None = None, resume: ResumeForm | None = None, status: int = 200
) -> tuple[str, int]:
    c = ctx()
    pause, resume = pause or ReasonForm(), resume or ResumeForm()
    return render_template(
        "web/freeze.html",
        title="Pause sending",
        state=ControlService.of(c).freeze(),
        pause=pause,
        resume=resume,
        admins=UserService.of(c).admins(),
        error_title=bool(pause.errors or resume.errors),
    ), status


@bp.route("/freeze")
@requires(Permission.VIEW)
def freeze() -> tuple[str, int]:
    return _freeze_page()


@bp.route("/freeze/pause", methods=["POST"])
@requires(Permission.FREEZE)
def pause() -> BaseResponse | tuple[str, int]:
    form = ReasonForm()
    if not form.validate_on_submit():
        return _freeze_page(pause=form, status=400)
    ControlService.of(ctx()).pause(actor(), form.reason.data or "", now())
    flash("Sending is paused. Nothing public goes out until an admin resumes it.", "success")
    return redirect(url_for("admin.freeze"))


@bp.route("/freeze/resume", methods=["POST"])
@requires(Permission.FREEZE)
def resume() -> BaseResponse | tuple[str, int]:
    form = ResumeForm()
    if not form.validate_on_submit():
        return _freeze_page(resume=form, status=400)
    ControlService.of(ctx()).resume(actor(), form.note.data or "", now())
    flash(
        "Sending is resumed. Items that are due go out at the next wake-up (or are marked missed if too late).",
        "success",
    )
    return redirect(url_for("admin.freeze"))
