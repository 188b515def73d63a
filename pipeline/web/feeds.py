"""The feeds: each feed's health (last poll, state, items, its failure in plain words), the latest national
messages with their objectives, and adding, pausing, resuming and removing a feed."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from pipeline.errors import CommsError
from pipeline.records import FeedSpec
from pipeline.services.feeds import FeedService
from pipeline.services.permissions import Permission
from pipeline.web.auth import actor, ctx, requires
from pipeline.web.forms import sentence

bp = Blueprint("feeds", __name__)
Page = tuple[str, int]


class AddFeedForm(FlaskForm):
    url = StringField("Feed address (URL)", validators=[DataRequired("Enter the feed's address"), Length(max=2000)])
    name = StringField("Name", validators=[DataRequired("Enter a name the team will recognise"), Length(max=200)])
    objectives = StringField("Objectives it serves", validators=[Optional(), Length(max=200)])
    audiences = StringField("Audiences it is for", validators=[Optional(), Length(max=200)])
    interval = IntegerField(
        "Poll every (minutes)",
        default=60,
        validators=[Optional(), NumberRange(min=1, max=10080, message="Between 1 and 10,080 minutes (a week)")],
    )


class FeedActionForm(FlaskForm):
    url = HiddenField(validators=[DataRequired("Which feed?")])


def _codes(text: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (text or "").replace(";", ",").split(",") if c.strip())


def _page(form: AddFeedForm | None = None, *, status: int = 200, errors: list[str] | None = None) -> Page:
    c, who = ctx(), actor()
    service = FeedService.of(c)
    form = form or AddFeedForm()
    strategy = c.repos.calendar.strategy()
    titles = {o.code: o.title for o in strategy.objectives} if strategy else {}
    return render_template(
        "web/feeds.html",
        title="Feeds",
        health=service.health(who),
        messages=service.latest_messages(who),
        titles=titles,
        form=form,
        action_form=FeedActionForm(),
        problems=[(None, e) for e in errors or []] + [(f.id, e) for f in form for e in f.errors],
        error_title=bool(errors or form.errors),
    ), status


@bp.route("/feeds")
@requires(Permission.VIEW)
def feeds() -> Page:
    return _page()


@bp.route("/feeds/add", methods=["POST"])
@requires(Permission.PLAN)
def add() -> Page | Response:
    form = AddFeedForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    spec = FeedSpec(
        (form.url.data or "").strip(),
        (form.name.data or "").strip(),
        form.interval.data or 60,
        objectives=_codes(form.objectives.data),
        audiences=_codes(form.audiences.data),
    )
    try:
        FeedService.of(ctx()).add(actor(), spec)
    except CommsError as exc:
        return _page(form, status=400, errors=[sentence(exc)])
    flash(f"The feed “{spec.name}” is added. It is polled at the next collection.", "success")
    return redirect(url_for("feeds.feeds"))


def _act(action: str) -> Page | Response:
    form = FeedActionForm()
    if not form.validate_on_submit():
        return _page(status=400, errors=["Choose a feed."])
    url, service = form.url.data or "", FeedService.of(ctx())
    try:
        if action == "remove":
            service.remove(actor(), url)
        else:
            service.pause(actor(), url, paused=action == "pause")
    except CommsError as exc:
        return _page(status=404 if "no feed" in str(exc) else 400, errors=[sentence(exc)])
    said = {
        "pause": "The feed is paused: it is not polled until it is resumed.",
        "resume": "The feed is resumed: it is polled at the next collection.",
        "remove": "The feed is removed: it is no longer polled. Its messages stay, with where they came from.",
    }
    flash(said[action], "success")
    return redirect(url_for("feeds.feeds"))


@bp.route("/feeds/pause", methods=["POST"])
@requires(Permission.PLAN)
def pause() -> Page | Response:
    return _act("pause")


@bp.route("/feeds/resume", methods=["POST"])
@requires(Permission.PLAN)
def resume() -> Page | Response:
    return _act("resume")


@bp.route("/feeds/remove", methods=["POST"])
@requires(Permission.PLAN)
def remove() -> Page | Response:
    return _act("remove")
