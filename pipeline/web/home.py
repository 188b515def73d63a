"""The home page: today at a glance (the freeze, what awaits approval, what goes out next, failures, the
feeds' health, the month's delivery against the plan, and for admins failed or stalled queue jobs), each part
linking to the page that acts on it."""

from __future__ import annotations

from flask import Blueprint, render_template

from pipeline.services.home import HomeService
from pipeline.services.permissions import Permission
from pipeline.web import jobs
from pipeline.web.auth import actor, ctx, now, requires

bp = Blueprint("home", __name__)


@bp.route("/")
@requires(Permission.VIEW)
def home() -> str:
    today = HomeService.of(ctx()).today(actor(), now())
    return render_template("web/home.html", title="Today", today=today, jobs=jobs.attention())
