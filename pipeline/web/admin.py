"""The audit log, the freeze, and the team's accounts."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from pipeline.services.audit import AuditService
from pipeline.services.permissions import Permission
from pipeline.web.auth import actor, requires

bp = Blueprint("admin", __name__)


@bp.route("/audit")
@requires(Permission.AUDIT)
def audit() -> str:
    page = AuditService.of(current_app.extensions["comms"]).search(actor())
    return render_template("web/audit.html", title="Audit log", page=page)


@bp.route("/freeze")
@requires(Permission.VIEW)
def freeze() -> str:
    return render_template("web/freeze.html", title="Freeze")


@bp.route("/users")
@requires(Permission.MANAGE_USERS)
def users() -> str:
    return render_template("web/users.html", title="Users", users=[])
