"""The approval queue and the item page (exactly what will be sent, and the actions on it)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from pipeline.records import ItemStatus
from pipeline.services.outbox import OutboxService
from pipeline.services.permissions import Permission
from pipeline.web.auth import actor, requires

bp = Blueprint("items", __name__)


@bp.route("/")
@bp.route("/queue")
@requires(Permission.VIEW)
def queue() -> str:
    outbox = OutboxService.of(current_app.extensions["comms"])
    awaiting = outbox.list_items(actor(), status=ItemStatus.AWAITING_APPROVAL)
    return render_template("web/queue.html", title="Approval queue", awaiting=awaiting)
