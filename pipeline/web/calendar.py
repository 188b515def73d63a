"""The calendar: the stored plan a month at a time (a grid and a list), its coverage gaps, each
occurrence with its item and its skip and move forms, the upload of a new calendar (problems by line,
or the difference it makes, then apply), and the downloads (CSV for Excel, ICS).

The views parse, call the core (`CalendarService`, `OverrideService`, `PlanUpload`) and present; every
rule is the core's. A refusal renders the page again with the reason, and changes nothing.
"""

from __future__ import annotations

import calendar as pycal
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from content_calendar.models import Occurrence, Strategy
from content_calendar.plan import month_bounds
from pipeline.errors import Conflict, Invalid, NotFound
from pipeline.services.calendar_view import CalendarMonth, CalendarService
from pipeline.services.overrides import OverrideService
from pipeline.services.permissions import Permission
from pipeline.services.plan_upload import PlanUpload
from pipeline.web.auth import actor, ctx, now, requires
from pipeline.web.calendar_forms import ApplyForm, Filters, MoveForm, RestoreForm, SkipForm, UploadForm
from pipeline.web.forms import sentence
from pipeline.web.periods import asked_month

bp = Blueprint("calendar", __name__)
Page = tuple[str, int]


def _step(month: str, by: int) -> str:
    first, last = month_bounds(month)
    return f"{(last + timedelta(days=1)) if by > 0 else (first - timedelta(days=1)):%Y-%m}"


def _filters(strategy: Strategy | None) -> Filters:
    form = Filters(request.args)
    everything = [("", "All")]
    if strategy is not None:
        form.objective.choices = everything + [(o.code, f"{o.code}. {o.title}") for o in strategy.objectives]
        form.audience.choices = everything + [(a.code, a.name) for a in strategy.audiences]
        form.channel.choices = everything + [(c.code, c.name) for c in strategy.channels]
    return form


def _shown(strategy: Strategy, occurrences: tuple[Occurrence, ...], form: Filters) -> list[Occurrence]:
    objective, audience, channel = form.objective.data, form.audience.data, form.channel.data
    reached = strategy.audience_with_children(audience) if audience else set()
    return [
        o
        for o in occurrences
        if (not objective or objective in o.objectives)
        and (not audience or reached & set(o.audiences))
        and (not channel or o.channel == channel)
    ]


def _weeks(month: str, shown: list[Occurrence]) -> list[list[tuple[date, list[Occurrence]]]]:
    first, _ = month_bounds(month)
    by_day: dict[date, list[Occurrence]] = defaultdict(list)
    for occ in shown:
        by_day[occ.start.date()].append(occ)
    weeks = pycal.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return [[(day, by_day.get(day, []) if day.month == first.month else []) for day in week] for week in weeks]


def _days(shown: list[Occurrence]) -> list[tuple[date, list[Occurrence]]]:
    by_day: dict[date, list[Occurrence]] = defaultdict(list)
    for occ in shown:
        by_day[occ.start.date()].append(occ)
    return sorted(by_day.items())


def _names(strategy: Strategy) -> dict[str, dict[str, str]]:
    return {
        "objectives": {o.code: f"{o.code}. {o.title}" for o in strategy.objectives},
        "audiences": {a.code: a.name for a in strategy.audiences},
        "channels": {c.code: c.name for c in strategy.channels},
    }


@bp.route("/calendar")
@requires(Permission.VIEW)
def month() -> Page:
    asked = asked_month()
    month = asked.value
    try:
        shown: CalendarMonth | None = CalendarService.of(ctx()).month(actor(), month)
    except NotFound:
        shown = None
    form = _filters(shown.strategy if shown else None)
    view = "list" if request.args.get("view") == "list" else "grid"
    occurrences = _shown(shown.strategy, shown.occurrences, form) if shown else []
    first, _ = month_bounds(month)
    args = {k: v for k, v in request.args.items() if k in ("objective", "audience", "channel", "view") and v}
    return render_template(
        "web/calendar.html",
        title=f"Calendar: {first:%B %Y}",
        month=month,
        first=first,
        shown=shown,
        occurrences=occurrences,
        weeks=_weeks(month, occurrences),
        days=_days(occurrences),
        names=_names(shown.strategy) if shown else {},
        filters=form,
        view=view,
        args=args,
        filtered=any(args.get(k) for k in ("objective", "audience", "channel")),
        previous=_step(month, -1),
        next=_step(month, 1),
        errors=asked.problems(None),
        error_title=bool(asked.error),
    ), 400 if asked.error else 200


@bp.route("/calendar.csv")
@requires(Permission.VIEW)
def download_csv() -> Response:
    body = CalendarService.of(ctx()).csv(actor())
    name = f"calendar-{now().astimezone(ctx().settings.tz):%Y-%m-%d}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/calendar.ics")
@requires(Permission.VIEW)
def download_ics() -> Response:
    asked = asked_month()
    if asked.error:  # a download of another month than the one asked for would mislead
        abort(400, f"{asked.error}.")
    month = asked.value
    body = CalendarService.of(ctx()).ics(actor(), month, now())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="calendar-{month}.ics"'},
    )


# one occurrence ------------------------------------------------------------------------------------
def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(404, "There is no such day in the calendar.")


def _occurrence_page(
    entry_id: str,
    day: str,
    skip: SkipForm | None = None,
    move: MoveForm | None = None,
    refusal: str = "",
    status: int = 200,
) -> Page:
    found = CalendarService.of(ctx()).occurrence(actor(), entry_id, _day(day))
    occ = found.occurrence
    skip, move = skip or SkipForm(prefix="skip"), move or MoveForm(prefix="move")
    return render_template(
        "web/calendar_occurrence.html",
        title=f"{occ.title}: {occ.start:%-d %B %Y}",
        occ=occ,
        entry=found.entry,
        day=day,
        names=_names(found.strategy),
        item=found.item,
        override=found.override,
        skip=skip,
        move=move,
        restore=RestoreForm(prefix="restore"),
        refusal=refusal,
        error_title=bool(refusal or skip.errors or move.errors),
    ), status


@bp.route("/calendar/<entry_id>/<day>")
@requires(Permission.VIEW)
def occurrence(entry_id: str, day: str) -> Page:
    return _occurrence_page(entry_id, day)


def _changed(entry_id: str, day: str, message: str) -> BaseResponse:
    flash(message, "success")
    return redirect(url_for("calendar.occurrence", entry_id=entry_id, day=day))


@bp.route("/calendar/<entry_id>/<day>/skip", methods=["POST"])
@requires(Permission.PLAN)
def skip(entry_id: str, day: str) -> BaseResponse | Page:
    form = SkipForm(prefix="skip")
    if not form.validate_on_submit():
        return _occurrence_page(entry_id, day, skip=form, status=400)
    try:
        done = OverrideService.of(ctx()).skip(actor(), entry_id, _day(day), form.reason.data or "", now())
    except (Invalid, Conflict) as exc:
        return _occurrence_page(entry_id, day, skip=form, refusal=sentence(exc), status=400)
    return _changed(entry_id, day, f"Skipped: {done.before.title} on {done.before.start:%A %-d %B %Y}.")


@bp.route("/calendar/<entry_id>/<day>/move", methods=["POST"])
@requires(Permission.PLAN)
def move(entry_id: str, day: str) -> BaseResponse | Page:
    form = MoveForm(prefix="move")
    if not form.validate_on_submit():
        return _occurrence_page(entry_id, day, move=form, status=400)
    try:
        done = OverrideService.of(ctx()).move(
            actor(), entry_id, _day(day), form.moment(), form.reason.data or "", now()
        )
    except (Invalid, Conflict) as exc:
        return _occurrence_page(entry_id, day, move=form, refusal=sentence(str(exc).removeprefix("to: ")), status=400)
    return _changed(entry_id, day, f"Moved to {done.after.start:%A %-d %B %Y at %H:%M}.")


@bp.route("/calendar/<entry_id>/<day>/restore", methods=["POST"])
@requires(Permission.PLAN)
def restore(entry_id: str, day: str) -> BaseResponse | Page:
    if not RestoreForm(prefix="restore").validate_on_submit():
        abort(400)
    try:
        occ = OverrideService.of(ctx()).restore(actor(), entry_id, _day(day), now())
    except Conflict as exc:
        return _occurrence_page(entry_id, day, refusal=sentence(exc), status=400)
    return _changed(entry_id, day, f"Back where the plan puts it: {occ.start:%A %-d %B %Y at %H:%M}.")


# upload ---------------------------------------------------------------------------------------------
def _upload_page(form: UploadForm | None = None, status: int = 200, **shown: Any) -> Page:
    form = form or UploadForm()
    return render_template(
        "web/calendar_upload.html",
        title="Upload a calendar",
        form=form,
        apply=shown.pop("apply", None) or ApplyForm(),
        error_title=bool(form.errors or (shown.get("upload") and shown["upload"].problems) or shown.get("refusal")),
        names=_upload_names(),
        **shown,
    ), status


def _upload_names() -> dict[str, dict[str, str]]:
    strategy = CalendarService.of(ctx()).strategy()
    return _names(strategy) if strategy else {"objectives": {}, "audiences": {}, "channels": {}}


@bp.route("/calendar/upload")
@requires(Permission.PLAN)
def upload_form() -> Page:
    return _upload_page()


@bp.route("/calendar/upload", methods=["POST"])
@requires(Permission.PLAN)
def upload() -> Page:
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400)
    sent = form.file.data
    try:
        checked = PlanUpload.of(ctx()).check(actor(), sent.filename or "", sent.read(), now())
    except Invalid as exc:
        form.file.errors = [sentence(str(exc).removeprefix("file: "))]
        return _upload_page(form, 400)
    apply = ApplyForm(formdata=None, token=checked.token, base=checked.base)
    return _upload_page(form, 200 if checked.ok else 400, upload=checked, apply=apply)


@bp.route("/calendar/apply", methods=["POST"])
@requires(Permission.PLAN)
def apply() -> BaseResponse | Page:
    form = ApplyForm()
    if not form.validate_on_submit():
        return _upload_page(status=400, refusal="The page was missing its upload: upload the file again.")
    try:
        done = PlanUpload.of(ctx()).apply(actor(), form.token.data or "", form.base.data or "", now())
    except (NotFound, Conflict, Invalid) as exc:
        return _upload_page(status=409 if isinstance(exc, Conflict) else 400, refusal=sentence(exc))
    found = done.difference
    flash(
        f"The calendar is now {done.name}: {done.entries} entries ({len(found.added)} added, "
        f"{len(found.removed)} removed, {len(found.changed)} changed).",
        "success",
    )
    return redirect(url_for("calendar.month"))
