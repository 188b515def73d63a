"""The subscribers: counts by audience for everyone; for admins only (addresses are personal data), a
person found by address, unsubscribed, erased or exported for a subject access request, the whole list
exported, and a CSV imported after a preview that lists every problem by line (all or nothing)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response as BaseResponse
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Length

from content_calendar.errors import CalendarError
from pipeline.errors import CommsError, NotFound
from pipeline.records import Subscriber
from pipeline.services.permissions import Permission, can
from pipeline.services.subscribers import SubscriberService, export_csv, export_row
from pipeline.web import uploads
from pipeline.web.auth import actor, ctx, now, requires
from pipeline.web.forms import file_problems, sentence

bp = Blueprint("subscribers", __name__)
Page = tuple[str, int]
Errors = list[tuple[str | None, str]]


class UploadForm(FlaskForm):
    file = FileField("The subscribers CSV", validators=[FileRequired("Choose the CSV file to import")])


class ConfirmForm(FlaskForm):
    upload = HiddenField(validators=[DataRequired("Upload the file again")])


class PersonForm(FlaskForm):
    email = HiddenField(validators=[DataRequired("Which address?"), Length(max=320)])


class EraseForm(PersonForm):
    sure = BooleanField(
        "I understand: the address, name and consent are deleted for good, and every record of what was "
        "sent to them names an alias instead",
        validators=[DataRequired("Confirm that the person's details are to be erased")],
    )


def _service() -> SubscriberService:
    return SubscriberService.of(ctx())


def _page(*, upload: UploadForm | None = None, status: int = 200, errors: Errors | None = None, **extra: Any) -> Page:
    who = actor()
    service = _service()
    upload = upload or UploadForm()
    person: Subscriber | None = None
    looked_for = (request.args.get("email") or "").strip()[:320]
    override: Subscriber | None = extra.pop("person_override", None)
    if override is not None:
        person, looked_for = override, override.email
    elif looked_for and can(who, Permission.SUBSCRIBERS):
        person = service.find(who, looked_for)
    problems = (errors or []) + [(f.id, e) for f in upload for e in f.errors]
    context = {
        "title": "Subscribers",
        "counts": service.counts(who),
        "upload": upload,
        "looked_for": looked_for if can(who, Permission.SUBSCRIBERS) else "",
        "person": person,
        "person_form": PersonForm(),
        "erase_form": extra.pop("erase_form", None) or EraseForm(),
        "errors": problems,
        "error_title": bool(problems),
        **extra,
    }
    return render_template("web/subscribers.html", **context), status


@bp.route("/subscribers")
@requires(Permission.VIEW)
def subscribers() -> Page:
    return _page()


@bp.route("/subscribers/import/preview", methods=["POST"])
@requires(Permission.SUBSCRIBERS)
def preview() -> Page:
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(upload=form, status=400)
    token, path = uploads.keep(form.file.data, "subscribers.csv")
    try:
        shown = _service().preview_import(actor(), path)
    except CalendarError as exc:
        uploads.drop(token)
        return _page(upload=form, status=400, errors=file_problems(exc.problems), refused=path.name)
    except CommsError as exc:
        uploads.drop(token)
        return _page(upload=form, status=400, errors=[(None, sentence(exc))], refused=path.name)
    confirm = ConfirmForm()
    confirm.upload.data = token
    return render_template("web/subscribers_preview.html", title="Check the import", shown=shown, form=confirm), 200


@bp.route("/subscribers/import", methods=["POST"])
@requires(Permission.SUBSCRIBERS)
def import_file() -> Page | BaseResponse:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(status=400, errors=[(None, "Upload the file again.")])
    token = form.upload.data or ""
    try:
        done = _service().import_file(actor(), uploads.find(token))
    except CalendarError as exc:
        return _page(status=400, errors=file_problems(exc.problems))
    except CommsError as exc:
        return _page(status=400, errors=[(None, sentence(exc))])
    uploads.drop(token)
    left = f" {done.suppressed} erased earlier were left out." if done.suppressed else ""
    flash(f"Imported: {done.added} added, {done.updated} updated.{left}", "success")
    return redirect(url_for("subscribers.subscribers"))


@bp.route("/subscribers/unsubscribe", methods=["POST"])
@requires(Permission.SUBSCRIBERS)
def unsubscribe() -> Page | BaseResponse:
    form = PersonForm()
    if not form.validate_on_submit():
        return _page(status=400, errors=[(None, "Find the person first.")])
    try:
        _service().unsubscribe(actor(), form.email.data or "", now(), reason="by hand, in the workspace")
    except NotFound as exc:
        return _page(status=404, errors=[(None, sentence(exc))])
    flash(f"{form.email.data} is unsubscribed: nothing more is sent to them.", "success")
    return redirect(url_for("subscribers.subscribers", email=form.email.data))


@bp.route("/subscribers/erase", methods=["POST"])
@requires(Permission.SUBSCRIBERS)
def erase() -> Page | BaseResponse:
    form = EraseForm()
    if not form.validate_on_submit():
        if not form.email.data:
            return _page(status=400, errors=[(None, "Find the person first.")])
        return _redo(form)
    try:
        _service().erase(actor(), form.email.data or "")
    except NotFound as exc:
        return _page(status=404, errors=[(None, sentence(exc))])
    flash("The person is erased: the list keeps no copy of their address, only the aggregate counts.", "success")
    return redirect(url_for("subscribers.subscribers"))


def _redo(form: EraseForm) -> Page:
    """The person's page again with the erase form's error (the address carried in the form, not the URL)."""
    who = actor()
    person = _service().find(who, form.email.data or "")
    errors: Errors = [(f.id, e) for f in form for e in f.errors]
    return _page(status=400, errors=errors, erase_form=form, person_override=person)


@bp.route("/subscribers/export.csv")
@requires(Permission.SUBSCRIBERS)
def export() -> Response:
    body = export_csv(_service().export(actor()))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="subscribers.csv"'
    return response


@bp.route("/subscribers/access", methods=["POST"])
@requires(Permission.SUBSCRIBERS)
def subject_access() -> Page | Response:
    form = PersonForm()
    if not form.validate_on_submit():
        return _page(status=400, errors=[(None, "Find the person first.")])
    try:
        person = _service().subject_access(actor(), form.email.data or "", now())
    except NotFound as exc:
        return _page(status=404, errors=[(None, sentence(exc))])
    held = {
        "what": "Everything the communications workspace holds about this address (subscriber list)",
        "produced": now().astimezone(ctx().settings.tz).isoformat(timespec="minutes"),
        "subscriber": export_row(person),
    }
    response = Response(json.dumps(held, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="subject-access.json"'
    return response
