"""The reports: the monthly report against the objectives and the quarterly committee summary, in the
page (the headline and each objective, then the A4 report itself in a sandboxed frame), their downloads
(HTML for A4, CSV, JSON), and the monthly report queued as an email for approval."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectField
from wtforms.validators import DataRequired

from pipeline.errors import CommsError, NotFound
from pipeline.reporting.files import number
from pipeline.reporting.report import RATING_NAMES
from pipeline.services.permissions import Permission
from pipeline.services.reports import MONTHLY_FORMATS, QUARTERLY_FORMATS, ReportService
from pipeline.web.auth import actor, ctx, now, requires
from pipeline.web.forms import choices, sentence
from pipeline.web.periods import Asked, asked_month, asked_quarter, is_month, is_quarter

bp = Blueprint("reports", __name__)
MEDIA = {"html": "text/html", "csv": "text/csv", "json": "application/json"}


class QueueReportForm(FlaskForm):
    audience = SelectField("Send it to", validators=[DataRequired("Choose who the report goes to")])
    channel = SelectField("Through", validators=[DataRequired("Choose the email channel")])


def _queue_form() -> QueueReportForm:
    form = QueueReportForm()
    strategy = ctx().repos.calendar.strategy()
    form.audience.choices = choices([(a.code, a.name) for a in (strategy.audiences if strategy else ())])
    form.channel.choices = choices(
        [(c.code, c.name) for c in (strategy.channels if strategy else ()) if c.kind == "email"]
    )
    return form


@bp.route("/reports")
@requires(Permission.VIEW)
def reports() -> tuple[str, int]:
    return _page(_queue_form())


def _page(
    form: QueueReportForm,
    *,
    month: str | None = None,
    status: int = 200,
    errors: list[tuple[str | None, str]] | None = None,
) -> tuple[str, int]:
    c, who, moment = ctx(), actor(), now()
    asked = Asked(month) if month else asked_month(moment)  # a month in the path was checked by its route
    quarters = asked_quarter(moment)
    month, quarter = asked.value, quarters.value
    asked_wrong = asked.problems("month") + quarters.problems("quarter")
    status = 400 if asked_wrong else status
    service = ReportService.of(c)
    context: dict[str, Any] = {"title": "Reports", "month": month, "quarter": quarter, "form": form}
    context.update(month_error=asked.error, quarter_error=quarters.error)
    try:
        context["report"] = service.monthly(who, month, moment)
    except NotFound as exc:
        context["missing"] = sentence(exc)
    if "missing" not in context:
        try:
            context["summary"] = service.quarterly(who, quarter, moment)
        except CommsError as exc:
            context["summary_problem"] = sentence(exc)
    context.update(
        num=number,
        rating_names=RATING_NAMES,
        monthly_formats=MONTHLY_FORMATS,
        quarterly_formats=QUARTERLY_FORMATS,
        errors=asked_wrong + (errors or []) + [(f.id, e) for f in form for e in f.errors],
    )
    context["error_title"] = bool(context["errors"])
    return render_template("web/reports.html", **context), status


@bp.route("/reports/monthly/<month>.<fmt>")
@requires(Permission.VIEW)
def monthly_file(month: str, fmt: str) -> Response:
    if not is_month(month) or fmt not in MONTHLY_FORMATS:
        abort(404, "There is no such report: a month looks like 2026-11, and the formats are html, csv and json.")
    body = ReportService.of(ctx()).monthly_file(actor(), month, fmt, now())
    return _file(body, fmt, f"report-{month}.{fmt}")


@bp.route("/reports/quarterly/<quarter>.<fmt>")
@requires(Permission.VIEW)
def quarterly_file(quarter: str, fmt: str) -> Response:
    if not is_quarter(quarter) or fmt not in QUARTERLY_FORMATS:
        abort(404, "There is no such summary: a quarter looks like 2026Q4, and the formats are html and json.")
    body = ReportService.of(ctx()).quarterly_file(actor(), quarter, fmt, now())
    return _file(body, fmt, f"committee-summary-{quarter}.{fmt}")


def _file(body: str, fmt: str, name: str) -> Response:
    """A download; the HTML shown in the page's frame (`?view=frame`) is served for framing, sandboxed."""
    response = Response(body, mimetype=MEDIA[fmt])
    if fmt == "html" and request.args.get("view") == "frame":
        response.headers["X-Comms-Preview"] = "1"  # security.py: the sandbox CSP, framed by this site only
    else:
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/reports/monthly/<month>/queue", methods=["POST"])
@requires(Permission.DRAFT)
def queue(month: str) -> tuple[str, int] | BaseResponse:
    if not is_month(month):
        abort(404, "A month looks like 2026-11.")
    form = _queue_form()
    if not form.validate_on_submit():
        return _page(form, month=month, status=400)
    try:
        queued = ReportService.of(ctx()).queue(actor(), month, form.audience.data or "", form.channel.data or "", now())
    except CommsError as exc:
        return _page(form, month=month, status=400, errors=[(None, sentence(exc))])
    flash(f"The report is queued as “{queued.item.title}”. It goes out once someone else approves it.", "success")
    return redirect(url_for("items.item", item_id=queued.item.id))
