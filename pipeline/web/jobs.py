"""The job queue, for admins: counts by queue and status, the newest jobs (filtered by status and queue),
each job's page with what it was given and what happened to it, the workers' heartbeats, and retrying
or cancelling a job. The rules, the role check and the audit record are the core's
(`pipeline.queue.admin.JobsView`, as `comms jobs` uses it); this module only reads the form and shows.

With no queue (COMMS_QUEUE=embedded, the default, and always on SQLite) the page says that the jobs run
inside the clock process, and nothing else."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import Form, HiddenField, IntegerField, SelectField
from wtforms.validators import Length, NumberRange, Optional

from pipeline.errors import Conflict
from pipeline.queue.admin import STATUSES, Attention, JobsView, NoQueue
from pipeline.queue.job_words import STATUS_WORDS, status_words
from pipeline.services.permissions import Permission, can
from pipeline.web.auth import actor, ctx, now, requires, safe_next
from pipeline.web.forms import choices, sentence

bp = Blueprint("jobs", __name__)
Page = tuple[str, int]
PER_PAGE = 50


class JobFilters(Form):
    """The filters, sent as a GET query so a filtered list can be bookmarked."""

    status = SelectField(
        "Status",
        choices=choices([("", "Any status"), *((s, status_words(s).capitalize()) for s in STATUSES)]),
        validators=[Optional()],
    )
    queue = SelectField("Queue", validators=[Optional(), Length(max=128)], validate_choice=False)
    limit = IntegerField(
        "How many", default=PER_PAGE, validators=[Optional(), NumberRange(1, 500, "Between 1 and 500")]
    )

    def args(self) -> dict[str, str]:
        return {f.name: str(f.data) for f in self if f.data and f.raw_data and f.raw_data[0]}


class JobActionForm(FlaskForm):
    """Retry or cancel: a button, and the list to go back to (a path on this site only)."""

    back = HiddenField(validators=[Optional(), Length(max=500)])


def _view() -> JobsView:
    return JobsView.of(ctx())


def _absent(exc: NoQueue, status: int = 200) -> Page:
    return render_template("web/jobs.html", title="Jobs", absent=exc, embedded=exc.embedded), status


@bp.route("/jobs")
@requires(Permission.JOBS)
def jobs() -> Page:
    filters = JobFilters(request.args)
    valid = filters.validate()
    try:
        view = _view()
    except NoQueue as exc:
        return _absent(exc)
    shown = view.overview(
        actor(),
        status=(filters.status.data or None) if valid else None,
        queue=(filters.queue.data or None) if valid else None,
        limit=(filters.limit.data or PER_PAGE) if valid else PER_PAGE,
    )
    filters.queue.choices = choices([("", "Any queue"), *((q, q) for q in shown.queues)])
    return render_template(
        "web/jobs.html",
        title="Jobs",
        shown=shown,
        filters=filters,
        args=filters.args() if valid else {},
        limit=(filters.limit.data or PER_PAGE) if valid else PER_PAGE,
        action_form=JobActionForm(),
        back=request.full_path.rstrip("?"),
        words=STATUS_WORDS,
        error_title=not valid,
    ), 200 if valid else 400


def _job_page(job_id: int, *, status: int = 200, errors: list[str] | None = None) -> Page:
    try:
        view = _view()
    except NoQueue as exc:
        return _absent(exc, 200 if status == 200 else 409)
    detail = view.job(actor(), job_id)
    return render_template(
        "web/job.html",
        title=f"Job {job_id}",
        detail=detail,
        job=detail.job,
        action_form=JobActionForm(),
        back=url_for("jobs.job", job_id=job_id),
        errors=[(None, e) for e in errors or []],
        error_title=bool(errors),
    ), status


@bp.route("/jobs/<int:job_id>")
@requires(Permission.JOBS)
def job(job_id: int) -> Page:
    return _job_page(job_id)


def _act(job_id: int, action: str) -> Page | Response:
    form = JobActionForm()
    if not form.validate_on_submit():
        return _job_page(job_id, status=400, errors=["Go back, reload the page and try again."])
    try:
        view = _view()
    except NoQueue as exc:
        return _absent(exc, 409)
    try:
        if action == "retry":
            done = view.retry(actor(), job_id, now())
            said = f"Job {job_id} ({done.what}) is back in the queue: a worker runs it shortly."
        elif view.cancel(actor(), job_id, now()):
            said = f"Job {job_id} is cancelled: no worker will run it."
        else:
            said = f"Job {job_id} is running: its worker is asked to stop (a batch under way may finish first)."
    except Conflict as exc:
        return _job_page(job_id, status=409, errors=[sentence(exc)])
    flash(said, "success")
    back = form.back.data or ""
    return redirect(safe_next(back) if back.startswith("/jobs") else url_for("jobs.job", job_id=job_id))


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@requires(Permission.JOBS)
def retry(job_id: int) -> Page | Response:
    return _act(job_id, "retry")


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
@requires(Permission.JOBS)
def cancel(job_id: int) -> Page | Response:
    return _act(job_id, "cancel")


def attention() -> Attention | None:
    """For the home page: an admin's one line on failed or stalled jobs (None: not an admin, no queue,
    or nothing to say)."""
    who = actor()
    if not can(who, Permission.JOBS):
        return None
    try:
        found = _view().attention(who)
    except NoQueue:
        return None
    return found or None
