"""Reach figures: list them by month and objective, enter one by hand, correct or remove one, and import
an export file with a preview of what it will add and replace. The rules are the core's
(`pipeline.services.metrics`, as `comms metrics`): codes checked against strategy.yaml, one figure by
hand per month, objective, metric, channel and audience unless "add to it" is asked, a re-import of a
file replacing what it added, every change in the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response
from wtforms import BooleanField, FloatField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from content_calendar.errors import CalendarError
from pipeline.errors import CommsError
from pipeline.reporting.files import number
from pipeline.reporting.imports import METRICS
from pipeline.services.metrics import FORMATS, MetricsService, describe
from pipeline.services.permissions import Permission
from pipeline.services.reports import current_month
from pipeline.web import uploads
from pipeline.web.auth import actor, ctx, now, requires
from pipeline.web.forms import choices, file_problems, sentence
from pipeline.web.periods import asked_month, month_field

bp = Blueprint("metrics", __name__)
Page = tuple[str, int]
FORMAT_NAMES = {
    "generic": "A generic CSV (date, channel, audience, objective, metric, value)",
    "facebook": "A Facebook Page export",
    "x": "An X (Twitter) analytics export",
    "ga4": "A Google Analytics 4 export",
    "govdelivery": "A GovDelivery bulletin report",
    "feedback": "Event feedback forms (before and after)",
}


@bp.app_template_filter("figure")
def figure_value(value: float) -> str:
    """A figure as the report prints it: 12,400; 0.6 (a share)."""
    return number(value, share=not float(value).is_integer())


class FigureForm(FlaskForm):
    objective = SelectField("Objective", validators=[DataRequired("Choose the objective the figure counts towards")])
    metric = SelectField("Metric", choices=choices((m, m.replace("_", " ")) for m in METRICS))
    month = StringField("Month", validators=[DataRequired("Enter the month, for example 2026-11"), month_field])
    value = FloatField("Value", validators=[InputRequired("Enter the value, a number")])
    channel = SelectField("Channel (optional)", validators=[Optional()])
    audience = SelectField("Audience (optional)", validators=[Optional()])
    add = BooleanField("Add this to the figure already entered, instead of replacing it")


class CorrectForm(FlaskForm):
    value = FloatField("New value", validators=[InputRequired("Enter the new value, a number")])


OPTIONS = ("format", "objective", "channel", "audience", "month")
SHOWN = 500  # figures listed at once: a month of analytics exports can hold tens of thousands
IMPORT = "import"  # the upload form's prefix: its fields' ids differ from the figure form's on the same page


class ImportOptions(FlaskForm):
    format = SelectField("What the file is", choices=choices((f, FORMAT_NAMES.get(f, f)) for f in FORMATS))
    objective = SelectField("Objective (when the file does not say)", validators=[Optional()])
    channel = SelectField("Channel (when the file does not say)", validators=[Optional()])
    audience = SelectField("Audience (when the file does not say)", validators=[Optional()])
    month = StringField("Month (when the file does not say)", validators=[Optional(), month_field, Length(max=7)])


class ImportForm(ImportOptions):
    file = FileField("The export file (CSV)", validators=[FileRequired("Choose the file to import")])


class ConfirmImportForm(ImportOptions):
    upload = HiddenField(validators=[DataRequired("Upload the file again")])


def _choose(form: FigureForm | ImportOptions, optional: bool) -> None:
    strategy = ctx().repos.calendar.strategy()
    none = [("", "None")] if optional else []
    objectives = [(o.code, f"{o.code}. {o.title}") for o in (strategy.objectives if strategy else ())]
    form.objective.choices = choices(([("", "Choose an objective")] if not optional else none) + objectives)
    form.channel.choices = choices([("", "None")] + [(c.code, c.name) for c in (strategy.channels if strategy else ())])
    form.audience.choices = choices(
        [("", "None")] + [(a.code, a.name) for a in (strategy.audiences if strategy else ())]
    )


def _forms(figure: FigureForm | None = None, upload: ImportForm | None = None) -> tuple[FigureForm, ImportForm]:
    figure, upload = figure or FigureForm(), upload or ImportForm(prefix=IMPORT)
    _choose(figure, optional=False)
    _choose(upload, optional=True)
    if not figure.month.data:
        figure.month.data = current_month(now(), ctx().settings.tz)
    return figure, upload


def _errors(*forms: FlaskForm) -> list[tuple[str | None, str]]:
    return [(f.id, e) for form in forms for f in form for e in f.errors]


def _page(
    figure: FigureForm | None = None,
    upload: ImportForm | None = None,
    *,
    status: int = 200,
    errors: list[tuple[str | None, str]] | None = None,
) -> Page:
    c, who = ctx(), actor()
    asked = asked_month()
    month, errors = asked.value, asked.problems("filter-month") + (errors or [])
    status = 400 if asked.error else status
    objective = (request.args.get("objective") or "").strip() or None
    service = MetricsService.of(c)
    figure, upload = _forms(figure, upload)
    context: dict[str, Any] = {"title": "Metrics", "month": month, "month_error": asked.error}
    context["objective"] = objective or ""
    try:
        context["figures"] = service.list(who, month=month, objective=objective, limit=SHOWN + 1)
    except CommsError as exc:
        context["figures"], errors = [], [*(errors or []), (None, sentence(exc))]
    strategy = c.repos.calendar.strategy()
    more = len(context["figures"]) > SHOWN
    context.update(
        figures=context["figures"][:SHOWN],
        more=more,
        shown=SHOWN,
        objectives=strategy.objectives if strategy else (),
        figure_form=figure,
        import_form=upload,
        changeable=service.changeable,
        describe=describe,
        errors=(errors or []) + _errors(figure, upload),
        error_title=bool(errors or figure.errors or upload.errors),
    )
    return render_template("web/metrics.html", **context), status


@bp.route("/metrics")
@requires(Permission.VIEW)
def metrics() -> Page:
    return _page()


@bp.route("/metrics/add", methods=["POST"])
@requires(Permission.PLAN)
def add() -> Page | Response:
    form, _ = _forms(FigureForm())
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        change = MetricsService.of(ctx()).add(
            actor(),
            objective=form.objective.data or "",
            metric=form.metric.data or "",
            value=float(form.value.data or 0),
            month=form.month.data or "",
            channel=form.channel.data or "",
            audience=form.audience.data or "",
            add=bool(form.add.data),
            now=now(),
        )
    except CommsError as exc:
        return _page(form, status=400, errors=[(None, sentence(exc))])
    f, was = change.figure, change.previous
    if was is None:
        said = f"Recorded {describe(f)} = {f.value:g} (figure #{f.id})."
    else:
        said = f"{'Added to' if form.add.data else 'Replaced'} {describe(f)}: {was:g} → {f.value:g} (figure #{f.id})."
    flash(said, "success")
    return redirect(url_for("metrics.metrics", month=f.month))


@bp.route("/metrics/<int:figure_id>")
@requires(Permission.VIEW)
def figure(figure_id: int) -> Page:
    return _figure_page(figure_id, CorrectForm())


def _figure_page(figure_id: int, form: CorrectForm, *, status: int = 200, errors: list[str] | None = None) -> Page:
    service = MetricsService.of(ctx())
    found = service.get(actor(), figure_id)
    if not form.value.data and form.value.data != 0:
        form.value.data = found.value
    problems = [(None, e) for e in errors or []] + _errors(form)
    return render_template(
        "web/metric.html",
        title=f"Figure #{figure_id}",
        figure=found,
        describe=describe,
        changeable=service.changeable(found),
        form=form,
        errors=problems,
        error_title=bool(problems),
    ), status


@bp.route("/metrics/<int:figure_id>/correct", methods=["POST"])
@requires(Permission.PLAN)
def correct(figure_id: int) -> Page | Response:
    form = CorrectForm()
    if not form.validate_on_submit():
        return _figure_page(figure_id, form, status=400)
    try:
        change = MetricsService.of(ctx()).correct(actor(), figure_id, float(form.value.data or 0), now())
    except CommsError as exc:
        return _figure_page(figure_id, form, status=400, errors=[sentence(exc)])
    flash(f"Corrected {describe(change.figure)}: {change.previous:g} → {change.figure.value:g}.", "success")
    return redirect(url_for("metrics.metrics", month=change.figure.month))


@bp.route("/metrics/<int:figure_id>/remove", methods=["POST"])
@requires(Permission.PLAN)
def remove(figure_id: int) -> Page | Response:
    form = FlaskForm()
    if not form.validate_on_submit():
        return _figure_page(figure_id, CorrectForm(), status=400, errors=["The form expired: try again."])
    try:
        change = MetricsService.of(ctx()).remove(actor(), figure_id, now())
    except CommsError as exc:
        return _figure_page(figure_id, CorrectForm(), status=400, errors=[sentence(exc)])
    flash(f"Removed {describe(change.figure)} = {change.figure.value:g}.", "success")
    return redirect(url_for("metrics.metrics", month=change.figure.month))


# importing a file -----------------------------------------------------------------------------------
def _options(form: ImportOptions) -> dict[str, Any]:
    return {
        "objective": form.objective.data or "",
        "audience": form.audience.data or "",
        "channel": form.channel.data or "",
        "month": form.month.data or None,
    }


@bp.route("/metrics/import/preview", methods=["POST"])
@requires(Permission.PLAN)
def preview() -> Page:
    _, form = _forms(upload=ImportForm(prefix=IMPORT))
    if not form.validate_on_submit():
        return _page(upload=form, status=400)
    token, path = uploads.keep(form.file.data, "figures.csv")
    try:
        shown = MetricsService.of(ctx()).preview_import(actor(), path, form.format.data or "generic", **_options(form))
    except CalendarError as exc:
        uploads.drop(token)
        return _page(upload=form, status=400, errors=file_problems(exc.problems))
    except CommsError as exc:
        uploads.drop(token)
        return _page(upload=form, status=400, errors=[(None, sentence(exc))])
    confirm = ConfirmImportForm(formdata=None, data={name: form[name].data for name in OPTIONS} | {"upload": token})
    _choose(confirm, optional=True)
    return render_template("web/metrics_preview.html", title="Check the import", shown=shown, form=confirm), 200


@bp.route("/metrics/import", methods=["POST"])
@requires(Permission.PLAN)
def import_file() -> Page | Response:
    form = ConfirmImportForm()
    _choose(form, optional=True)
    if not form.validate_on_submit():
        return _page(status=400, errors=_errors(form))
    token = form.upload.data or ""
    try:
        done = MetricsService.of(ctx()).import_file(
            actor(), uploads.find(token), form.format.data or "generic", now=now(), **_options(form)
        )
    except CalendarError as exc:
        return _page(status=400, errors=file_problems(exc.problems))
    except CommsError as exc:
        return _page(status=400, errors=[(None, sentence(exc))])
    uploads.drop(token)
    r = done.replaced
    replaced = f" It replaced {r.removed} figures an earlier import of the same file added." if r.removed else ""
    same = " The figures are the same as before: nothing changed." if r.same else ""
    flash(f"{done.name}: {done.figures} figures imported (import #{done.import_id}).{replaced}{same}", "success")
    month = r.done.months[0] if r.done.months else None
    return redirect(url_for("metrics.metrics", month=month))
