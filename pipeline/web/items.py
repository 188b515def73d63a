"""The approval queue and the item page: exactly what will be sent, and the actions on it.

Every action is a POST form with a CSRF token that redirects back to the page with a success banner.
A refusal (four eyes, a status that no longer allows the move, a change made since the page was
opened) renders the page again with the reason, and changes nothing. What the page offers follows the
person's role and the item's status, and the use cases check both again whatever the page offered.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from pipeline.context import AppContext
from pipeline.errors import CommsError, Conflict, Invalid, NotAllowed, NotFound
from pipeline.records import OutboxItem
from pipeline.services.actor import Actor
from pipeline.services.outbox import APPROVE, CANCEL, EDITABLE, REJECT, RETRY, OutboxService, approval_refusal
from pipeline.services.permissions import Permission, can
from pipeline.services.preview import ItemPreviewService
from pipeline.services.queue import Queue, QueueService
from pipeline.web.auth import actor, now, requires
from pipeline.web.item_forms import (
    ApproveForm,
    ButtonForm,
    CommentForm,
    EmailEditForm,
    PostEditForm,
    RejectForm,
)

log = logging.getLogger(__name__)
bp = Blueprint("items", __name__)
Page = tuple[str, int]
Errors = list[tuple[str | None, str]]


def _ctx() -> AppContext:
    ctx: AppContext = current_app.extensions["comms"]
    return ctx


def _local(ctx: AppContext, item: OutboxItem) -> str:
    return item.due_at.astimezone(ctx.settings.tz).strftime("%a %-d %b %Y at %H:%M")


def _sentence(message: str) -> str:
    """A use case's refusal as a sentence on the page."""
    return message[:1].upper() + message[1:] if message else message


def _form_errors(*forms: FlaskForm | None) -> Errors:
    return [(field.id, e) for form in forms if form for field in form if field.errors for e in field.errors]


def _back(item_id: int, anchor: str | None = None) -> Response:
    return redirect(url_for("items.item", item_id=item_id, _anchor=anchor))  # type: ignore[return-value]


# the queue --------------------------------------------------------------------------------------
@bp.route("/queue")
@requires(Permission.VIEW)
def queue() -> str:
    show_all = request.args.get("all", "")
    q = QueueService.of(_ctx()).queue(actor(), now(), show_all=show_all if show_all in Queue.SECTIONS else "")
    return render_template("web/queue.html", title="Approval queue", q=q)


# the item page ----------------------------------------------------------------------------------
@bp.route("/items/<int:item_id>")
@requires(Permission.VIEW)
def item(item_id: int) -> Page:
    return _page(item_id)


def _page(item_id: int, *, status: int = 200, errors: Errors | None = None, **forms: Any) -> Page:
    """The item page; after a refused action, with what was refused and what the person typed."""
    ctx, who = _ctx(), actor()
    outbox, items = OutboxService.of(ctx), ItemPreviewService.of(ctx)
    view = outbox.show(who, item_id)
    it, history = view.item, outbox.history(who, item_id)
    reject_form, comment_form = forms.get("reject_form") or RejectForm(), forms.get("comment_form") or CommentForm()
    approve_form = ApproveForm(version=it.content_hash)
    approve_form.version.data = it.content_hash  # the version shown now, even after a refused POST
    context = {
        "title": it.title,
        "item": it,
        "preview": items.preview(who, item_id),
        "recipients": items.recipients_by_audience(who, item_id),
        "checks": items.checks(who, item_id),
        "sources": items.provenance(who, item_id),
        "stale": items.freshness(who, item_id),
        "history": history,
        "actions": _actions(who, it),
        "refusal": approval_refusal(who, it, history.approvals) if can(who, Permission.APPROVE) else None,
        "approve_form": approve_form,
        "reject_form": reject_form,
        "comment_form": comment_form,
        "button_form": ButtonForm(),
        "errors": (errors or []) + _form_errors(forms.get("reject_form"), forms.get("comment_form")),
        "changed": forms.get("changed"),
        "channel_name": items.channel_name(it),
    }
    return render_template("web/item.html", **context), status


def _actions(who: Actor, it: OutboxItem) -> dict[str, bool]:
    """What the page offers: the person's role and the item's status allow it (the server checks again)."""
    return {
        "approve": can(who, APPROVE.permission) and it.status in APPROVE.allowed_from,
        "reject": can(who, REJECT.permission) and it.status in REJECT.allowed_from,
        "cancel": can(who, CANCEL.permission) and it.status in CANCEL.allowed_from,
        "retry": can(who, RETRY.permission) and it.status in RETRY.allowed_from,
        "edit": can(who, Permission.DRAFT) and it.status in EDITABLE and _editable(it),
        "comment": can(who, Permission.DRAFT),
        "test": can(who, Permission.DRAFT) and it.kind == "email",
    }


def _editable(it: OutboxItem) -> bool:
    """A post by its text; an email by its blocks, so only one composed from an edition."""
    return it.kind != "email" or it.edition_id is not None


@bp.route("/items/<int:item_id>/preview.html")
@requires(Permission.VIEW)
def preview_html(item_id: int) -> Response:
    """The email personalised for the sample reader, for the item page's sandboxed frames."""
    shown = ItemPreviewService.of(_ctx()).preview(actor(), item_id)
    if shown.item.kind != "email" or not shown.html:
        abort(404, "Only an email has an HTML preview.")
    response = Response(shown.html, mimetype="text/html")
    response.headers["X-Comms-Preview"] = "1"  # security.py serves it with the sandbox CSP
    return response


# the actions ------------------------------------------------------------------------------------
@bp.route("/items/<int:item_id>/approve", methods=["POST"])
@requires(Permission.APPROVE)
def approve(item_id: int) -> Page | Response:
    form, ctx, who = ApproveForm(), _ctx(), actor()
    if not form.validate_on_submit():
        return _page(item_id, status=400, errors=_form_errors(form))
    outbox, seen = OutboxService.of(ctx), form.version.data or ""
    try:
        done = outbox.approve(who, item_id, now(), seen_hash=seen)
    except NotAllowed as exc:
        return _page(item_id, status=403, errors=[(None, _sentence(str(exc)))])
    except Conflict as exc:
        current = outbox.get(who, item_id)
        if current.content_hash != seen and current.status in APPROVE.allowed_from:
            return _page(item_id, status=409, changed=outbox.changes_since(who, item_id, seen))
        return _page(item_id, status=409, errors=[(None, _sentence(str(exc)))])
    if done.complete:
        flash(f"Approved. “{done.item.title}” will go out {_local(ctx, done.item)}.", "success")
    else:
        flash(
            f"Your approval is recorded: {done.given} of {done.needed} approvals. "
            "Someone else must approve it too before it goes out.",
            "success",
        )
    return _back(item_id)


@bp.route("/items/<int:item_id>/reject", methods=["POST"])
@requires(Permission.APPROVE)
def reject(item_id: int) -> Page | Response:
    form = RejectForm()
    if not form.validate_on_submit():
        return _page(item_id, status=400, reject_form=form)
    try:
        OutboxService.of(_ctx()).reject(actor(), item_id, form.reason.data or "", now())
    except (Conflict, NotAllowed, Invalid) as exc:
        return _page(item_id, status=_status(exc), errors=[(None, _sentence(str(exc)))], reject_form=form)
    flash("Rejected. It is back with the author as a draft, with your reason.", "success")
    return _back(item_id)


@bp.route("/items/<int:item_id>/cancel", methods=["POST"])
@requires(Permission.APPROVE)
def cancel(item_id: int) -> Page | Response:
    def run() -> object:
        return OutboxService.of(_ctx()).cancel(actor(), item_id, now())

    return _button(item_id, run, "Cancelled. It will not be sent.")


@bp.route("/items/<int:item_id>/retry", methods=["POST"])
@requires(Permission.DRAFT)
def retry(item_id: int) -> Page | Response:
    def run() -> str:
        done = OutboxService.of(_ctx()).retry(actor(), item_id, now())
        tried = f" {done.deliveries_reset} failed deliveries will be tried again." if done.deliveries_reset else ""
        return f"It is awaiting approval again; once approved it is sent.{tried}"

    return _button(item_id, run, None)


@bp.route("/items/<int:item_id>/test", methods=["POST"])
@requires(Permission.DRAFT)
def send_test(item_id: int) -> Page | Response:
    def run() -> str:
        sent = ItemPreviewService.of(_ctx()).send_test(actor(), item_id, now())
        paused = (
            " Sending is paused: the test went because it is staff email, but the item itself will not go out "
            "until sending is resumed."
            if sent.paused
            else ""
        )
        return f"Test sent to {sent.to}.{paused}"

    return _button(item_id, run, None)


def _button(item_id: int, run: Any, message: str | None) -> Page | Response:
    form = ButtonForm()
    if not form.validate_on_submit():
        return _page(item_id, status=400, errors=_form_errors(form))
    try:
        said = run()
    except CommsError as exc:
        return _page(item_id, status=_status(exc), errors=[(None, _sentence(str(exc)))])
    flash(message or str(said), "success")
    return _back(item_id)


def _status(exc: CommsError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotAllowed):
        return 403
    if isinstance(exc, Conflict):
        return 409
    return 400 if isinstance(exc, Invalid) else 502


@bp.route("/items/<int:item_id>/comment", methods=["POST"])
@requires(Permission.DRAFT)
def comment(item_id: int) -> Page | Response:
    form = CommentForm()
    if not form.validate_on_submit():
        return _page(item_id, status=400, comment_form=form)
    try:
        OutboxService.of(_ctx()).comment(actor(), item_id, form.comment.data or "", now())
    except Invalid as exc:
        return _page(item_id, status=400, errors=[(None, _sentence(str(exc)))], comment_form=form)
    flash("Your comment was added.", "success")
    return _back(item_id, "comments")


# editing ----------------------------------------------------------------------------------------
@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@requires(Permission.DRAFT)
def edit(item_id: int) -> Page | Response:
    ctx, who = _ctx(), actor()
    outbox = OutboxService.of(ctx)
    it = outbox.get(who, item_id)
    if it.status not in EDITABLE or not _editable(it):
        return _page(item_id, status=409, errors=[(None, _not_editable(it))])
    form: PostEditForm | EmailEditForm = EmailEditForm() if it.kind == "email" else PostEditForm()
    if not form.is_submitted():
        _fill(form, it, outbox.edition_blocks(who, item_id))
        return _edit_page(it, form)
    if not form.validate():
        return _edit_page(it, form, status=400)
    seen = form.version.data or ""
    try:
        if isinstance(form, EmailEditForm):
            edited = outbox.edit(who, item_id, now(), blocks=form.blocks(), seen_hash=seen)
        else:
            edited = outbox.edit(who, item_id, now(), body=_lines(form.text.data), seen_hash=seen)
    except Conflict as exc:
        current = outbox.get(who, item_id)
        if current.content_hash == seen or current.status not in EDITABLE:
            return _edit_page(it, form, status=409, errors=[(None, _sentence(str(exc)))])
        form.version.data = current.content_hash  # saving again, having read the change, overwrites it
        return _edit_page(current, form, status=409, changed=outbox.changes_since(who, item_id, seen))
    except (Invalid, NotAllowed) as exc:
        return _edit_page(it, form, status=_status(exc), errors=[(None, _sentence(str(exc)))])
    if edited.content_hash == it.content_hash:
        flash("Nothing was changed.", "success")
    else:
        flash("Your changes are saved. Every part was rendered again; it now needs approving again.", "success")
    return _back(item_id)


def _fill(form: PostEditForm | EmailEditForm, it: OutboxItem, blocks: dict[str, Any]) -> None:
    form.version.data = it.content_hash
    if isinstance(form, PostEditForm):
        form.text.data = it.body
        return
    form.subject.data = blocks.get("subject") or it.subject
    form.preheader.data = blocks.get("preheader") or ""
    form.intro.data = blocks.get("intro") or ""
    form.key_messages.data = "\n".join(str(m) for m in blocks.get("key_messages") or [])


def _lines(text: str | None) -> str:
    """A textarea's text with the browser's CRLF line ends made LF, as the text is stored."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _not_editable(it: OutboxItem) -> str:
    if it.status not in EDITABLE:
        return f"#{it.id} is {it.status.replace('_', ' ')}, so it can no longer be edited."
    return f"#{it.id} is an email that was not composed from an edition (a report), so it cannot be edited here."


def _edit_page(
    it: OutboxItem,
    form: PostEditForm | EmailEditForm,
    *,
    status: int = 200,
    errors: Errors | None = None,
    changed: str | None = None,
) -> Page:
    context = {
        "title": f"Edit: {it.title}",
        "item": it,
        "form": form,
        "errors": (errors or []) + _form_errors(form),
        "changed": changed,
    }
    return render_template("web/item_edit.html", **context), status
