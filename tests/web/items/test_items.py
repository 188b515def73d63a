"""The approval queue and the item page, through the real app, sign-in form and CSRF tokens, on the
example workspace composed by the real composer (tests/web/items/conftest.py)."""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from channels.limits import length
from pipeline.records import ItemStatus, OutboxItem
from pipeline.services.actor import Actor, Role
from pipeline.services.outbox import OutboxService
from pipeline.web.security import CSP, PREVIEW_CSP
from tests.conftest import EXAMPLE
from tests.web.items.conftest import ROLES, Workspace, csrf_token, field_value, post_form

SignIn = Callable[[str], FlaskClient]
BOB = Actor.person(ROLES["approver2"], Role.APPROVER)


def _section(page: str, heading: str) -> str:
    """The HTML of the queue's section whose heading starts with `heading`."""
    for part in page.split("<section")[1:]:
        if re.search(rf"<h2[^>]*>{re.escape(heading)} \(\d+\)</h2>", part):
            return part.split("</section>")[0]
    raise AssertionError(f"no section {heading!r}")


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _add(ws: Workspace, key: str, **values: object) -> OutboxItem:
    fields: dict[str, object] = {
        "occurrence_key": key,
        "entry_id": key.split("@")[0],
        "channel": "facebook",
        "kind": "post",
        "title": key,
        "body": "Worried about someone? Talk to us in confidence.",
        "audiences": ["residents"],
        "objectives": ["1"],
        "due_at": datetime.now(UTC) + timedelta(hours=5),
        "approval": "required",
        "status": ItemStatus.AWAITING_APPROVAL,
        "created_by": "clock",
    }
    fields.update(values)
    return ws.ctx.repos.outbox.add_item(datetime.now(UTC), **fields)  # type: ignore[arg-type]


# the queue --------------------------------------------------------------------------------------
def test_the_queue_sorts_items_into_its_sections(workspace: Workspace, signed_in: SignIn) -> None:
    soon = _add(workspace, "soon@1", status=ItemStatus.APPROVED, approved_by="auto", title="Going soon")
    far = _add(
        workspace, "far@1", status=ItemStatus.APPROVED, approved_by="auto", due_at=datetime.now(UTC) + timedelta(days=5)
    )
    failed = _add(workspace, "failed@1", title="It failed")
    workspace.ctx.repos.outbox.transition(failed.id, ItemStatus.FAILED, datetime.now(UTC), reason="relay down")
    OutboxService.of(workspace.ctx).edit(BOB, workspace.post_id, datetime.now(UTC), body="Bob's new text")

    bob = signed_in("approver2").get("/queue")
    assert bob.status_code == 200
    yours, others = _section(bob.text, "Awaiting your approval"), _section(bob.text, "Waiting for someone else")
    assert f'href="/items/{workspace.email_id}"' in yours and f'href="/items/{workspace.post_id}"' not in yours
    assert f'href="/items/{workspace.post_id}"' in others, "Bob edited the post: four eyes"
    assert "Awaiting your approval (1)" in bob.text and "Waiting for someone else (1)" in bob.text
    going = _section(bob.text, "Going out in the next 48 hours")
    assert f'href="/items/{soon.id}"' in going and f'href="/items/{far.id}"' not in going
    assert "Going soon" in going and "0 of 1 approval" in _text(yours)
    assert re.search(r'<time datetime="[^"]+">\w{3} \d+ \w{3} \d{4}, \d\d:\d\d</time>', going), "local times"
    broken = _section(bob.text, "Failed or missed")
    assert f'href="/items/{failed.id}"' in broken and "Failed or missed (1)" in bob.text

    ann = signed_in("approver").get("/queue").text
    assert f'href="/items/{workspace.post_id}"' in _section(ann, "Awaiting your approval"), "Ann may approve it"
    viewer = signed_in("viewer").get("/queue").text
    assert "Awaiting your approval" not in viewer and "Awaiting approval (2)" in viewer


def test_an_empty_queue_says_so_in_words(workspace: Workspace, signed_in: SignIn) -> None:
    for item_id in (workspace.email_id, workspace.post_id):
        OutboxService.of(workspace.ctx).cancel(BOB, item_id, datetime.now(UTC))
    page = signed_in("approver").get("/queue").text
    for said in (
        "Nothing is waiting for your approval.",
        "Nothing approved is due to go out in the next 48 hours.",
        "Nothing has failed or been missed.",
    ):
        assert said in page
    assert "<table" not in page


def test_a_long_section_shows_its_first_rows_and_offers_all(workspace: Workspace, signed_in: SignIn) -> None:
    for n in range(55):
        _add(workspace, f"many-{n}@1", title=f"Post {n}")
    client = signed_in("approver")
    page = client.get("/queue").text
    yours = _section(page, "Awaiting your approval")
    assert "Awaiting your approval (57)" in page and yours.count("<tr>") == 26  # the header row and 25
    assert "Showing the first 25 of 57." in _text(yours) and 'href="/queue?all=yours#yours-heading"' in yours
    everything = _section(client.get("/queue?all=yours").text, "Awaiting your approval")
    assert everything.count("<tr>") == 58 and "Showing the first" not in everything


# the item page: exactly what will be sent ------------------------------------------------------
def _expected_recipients() -> dict[str, int]:
    with (EXAMPLE / "subscribers.csv").open(encoding="utf-8") as f:
        counts: dict[str, int] = {}
        for row in csv.DictReader(f):
            matched = next((a for a in row["audiences"].split(";") if a in {"headteachers", "governors"}), None)
            if matched:
                counts[matched] = counts.get(matched, 0) + 1
    return counts


def test_the_email_page_shows_what_will_be_sent_and_to_how_many(workspace: Workspace, signed_in: SignIn) -> None:
    client = signed_in("viewer")
    page = client.get(f"/items/{workspace.email_id}")
    assert page.status_code == 200 and page.headers["Content-Security-Policy"] == CSP
    text, item = _text(page.text), workspace.item(workspace.email_id)
    assert "%%P" not in page.text
    assert item.subject in text and "Prevent Communications <prevent@example.org>" in text
    counts = _expected_recipients()
    assert counts == {"headteachers": 12, "governors": 2}
    assert f"{sum(counts.values())} active subscribers" in text
    assert "Headteachers and safeguarding leads: 12" in text and "School governors: 2" in text
    assert re.search(r'<pre class="text-part">[^<]*Dear Sample Reader,', page.text), "the text part, personalised"
    frames = re.findall(r"<iframe ([^>]*)>", page.text)
    assert len(frames) == 2 and all(f'src="/items/{workspace.email_id}/preview.html"' in f for f in frames)
    assert all(re.search(r'title="[^"]+"', f) and "sandbox" in f for f in frames)
    assert "Accessibility checks" in text and "No problems found" in text
    assert f"Version {item.content_hash[:12]}" in text


def test_the_preview_is_the_personalised_html_in_a_sandbox(workspace: Workspace, signed_in: SignIn) -> None:
    client = signed_in("viewer")
    shown = client.get(f"/items/{workspace.email_id}/preview.html")
    assert shown.status_code == 200 and shown.mimetype == "text/html"
    assert shown.headers["Content-Security-Policy"] == PREVIEW_CSP and "sandbox" in PREVIEW_CSP
    assert "X-Comms-Preview" not in shown.headers and shown.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "Dear Sample Reader" in shown.text and "%%P" not in shown.text
    assert "http://localhost:8000/unsubscribe?token=" in shown.text
    assert client.get(f"/items/{workspace.post_id}/preview.html").status_code == 404


def test_a_post_shows_its_length_link_card_and_problems(workspace: Workspace, signed_in: SignIn) -> None:
    client = signed_in("viewer")
    item = workspace.item(workspace.post_id)
    text = _text(client.get(f"/items/{workspace.post_id}").text)
    assert f"{length('facebook', item.body)} of 63,206 characters" in text
    assert "Link card https://www.thurrock.gov.uk/prevent" in text and "No problems found" in text
    long_post = _add(workspace, "x-long@1", channel="x", body="Act early. " * 30)
    page = client.get(f"/items/{long_post.id}").text
    used = length("x", long_post.body)
    assert re.search(rf'<p class="post-length over">{used} of 280 weighted characters: {used - 280} over', page)
    assert f"{used} weighted characters, over the 280 that x allows" in _text(page)


def test_provenance_flags_a_message_changed_at_the_source(workspace: Workspace, signed_in: SignIn) -> None:
    from tests.web.items.conftest import MESSAGE_LINK, national_message

    client = signed_in("viewer")
    before = _text(client.get(f"/items/{workspace.email_id}").text)
    assert "Prevent duty guidance updated GOV.UK 29 Oct 2026" in before and "GOV.UK news" in before
    assert "changed at the source" not in before and "unchanged" in before
    (feed,) = workspace.ctx.repos.feeds.all()
    changed = national_message("hash-2", "Prevent duty guidance withdrawn")
    workspace.ctx.repos.feeds.save_messages(feed.id, [("guid-1", changed)], datetime(2026, 11, 4, tzinfo=UTC))
    page = client.get(f"/items/{workspace.email_id}").text
    assert '<strong class="tag tag--warning">changed at the source since it was fetched</strong>' in page
    assert "Its title is now “Prevent duty guidance withdrawn”" in _text(page) and MESSAGE_LINK in page


# approving --------------------------------------------------------------------------------------
def test_approving_the_version_seen(workspace: Workspace, signed_in: SignIn) -> None:
    client = signed_in("approver")
    url = f"/items/{workspace.email_id}"
    page = client.get(url).text
    version = field_value(page, "version")
    assert version == workspace.item(workspace.email_id).content_hash
    done = client.post(f"{url}/approve", data={"csrf_token": csrf_token(page), "version": version})
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    item = workspace.item(workspace.email_id)
    assert item.status == ItemStatus.APPROVED and item.approved_by == ROLES["approver"]
    after = client.get(url).text
    assert "Approved. “Prevent update for schools” will go out Thu 5 Nov 2026 at 08:00." in _text(after)
    assert f'action="/items/{workspace.email_id}/approve"' not in after, "approved: nothing more to approve"


def test_a_stale_approval_is_refused_with_the_change_shown(workspace: Workspace, signed_in: SignIn) -> None:
    ann = signed_in("approver")
    url = f"/items/{workspace.post_id}"
    opened = ann.get(url).text
    seen = field_value(opened, "version")
    post_form(signed_in("author"), f"{url}/edit", f"{url}/edit", {"text": "Call 0800 789 321", "version": seen})
    refused = ann.post(f"{url}/approve", data={"csrf_token": csrf_token(opened), "version": seen})
    assert refused.status_code == 409
    assert "This item changed after you opened it" in refused.text
    diff = re.search(r'<pre class="diff">(.*?)</pre>', refused.text, re.S)
    assert (
        diff
        and "+Call 0800 789 321" in html.unescape(diff.group(1))
        and "-Inter Faith Week" in html.unescape(diff.group(1))
    )
    item = workspace.item(workspace.post_id)
    assert item.status == ItemStatus.AWAITING_APPROVAL and item.approved_hash is None
    assert field_value(refused.text, "version") == item.content_hash, "the page now offers the current version"


def test_four_eyes_an_approver_who_edited_cannot_approve(workspace: Workspace, signed_in: SignIn) -> None:
    ann = signed_in("approver")
    url = f"/items/{workspace.post_id}"
    edit_page = ann.get(f"{url}/edit").text
    saved = ann.post(
        f"{url}/edit",
        data={"csrf_token": csrf_token(edit_page), "version": field_value(edit_page, "version"), "text": "Ann's text"},
    )
    assert saved.status_code == 302
    page = ann.get(url).text
    assert "You cannot approve this." in page and f'action="{url}/approve"' not in page
    refused = ann.post(
        f"{url}/approve",
        data={"csrf_token": csrf_token(page), "version": workspace.item(workspace.post_id).content_hash},
    )
    assert refused.status_code == 403
    assert f"Four eyes: {ROLES['approver']} edited #{workspace.post_id}, so someone else must approve it" in _text(
        refused.text
    )
    assert 'class="error-summary"' in refused.text
    assert workspace.item(workspace.post_id).status == ItemStatus.AWAITING_APPROVAL
    bob = signed_in("approver2")
    assert (
        post_form(bob, url, f"{url}/approve", {"version": workspace.item(workspace.post_id).content_hash}).status_code
        == 302
    )
    assert workspace.item(workspace.post_id).status == ItemStatus.APPROVED


def test_two_approvals_by_two_people(workspace: Workspace, signed_in: SignIn) -> None:
    item = _add(workspace, "two@1", approvals_required=2, title="Needs two")
    url = f"/items/{item.id}"
    ann = signed_in("approver")
    assert "0 of 2 approvals" in _text(ann.get(url).text)
    first = post_form(ann, url, f"{url}/approve", {"version": item.content_hash})
    assert first.status_code == 302
    page = _text(ann.get(url).text)
    assert "Your approval is recorded: 1 of 2 approvals." in page
    assert f"Approvals 1 of 2 approvals: {ROLES['approver']}" in page
    assert workspace.item(item.id).status == ItemStatus.AWAITING_APPROVAL
    link = f'href="/items/{item.id}"'
    assert link in _section(ann.get("/queue").text, "Waiting for someone else"), "Ann approved this version"
    bob_queue = signed_in("approver2").get("/queue").text
    assert link in _section(bob_queue, "Awaiting your approval") and "1 of 2 approvals" in bob_queue
    again = post_form(ann, url, f"{url}/approve", {"version": item.content_hash})
    assert again.status_code == 403 and "already approved" in again.text
    assert post_form(signed_in("approver2"), url, f"{url}/approve", {"version": item.content_hash}).status_code == 302
    done = workspace.item(item.id)
    assert done.status == ItemStatus.APPROVED and done.approved_by == f"{ROLES['approver']}, {ROLES['approver2']}"


# editing, rejecting, commenting ---------------------------------------------------------------------
def test_editing_an_email_renders_every_part_again(workspace: Workspace, signed_in: SignIn) -> None:
    url = f"/items/{workspace.email_id}"
    before = workspace.item(workspace.email_id)
    assert post_form(signed_in("approver2"), url, f"{url}/approve", {"version": before.content_hash}).status_code == 302
    author = signed_in("author")
    form = author.get(f"{url}/edit").text
    assert "One message per line." in form and 'name="key_messages"' in form
    intro = "This month: the new referral pathway for schools."
    saved = author.post(
        f"{url}/edit",
        data={
            "csrf_token": csrf_token(form),
            "version": field_value(form, "version"),
            "subject": "Prevent update: the new referral pathway",
            "preheader": "What changes for schools",
            "intro": intro,
            "key_messages": "Use the new referral form\r\nTalk to your Prevent lead\r\n\r\n",
        },
    )
    assert saved.status_code == 302
    after = workspace.item(workspace.email_id)
    assert after.html != before.html and after.body != before.body, "both parts rendered again"
    assert intro in after.body and intro in after.html and "Talk to your Prevent lead" in after.body
    assert after.subject == "Prevent update: the new referral pathway"
    assert after.status == ItemStatus.AWAITING_APPROVAL and after.approved_hash is None
    assert after.edited_by == ROLES["author"]
    inputs = workspace.ctx.repos.outbox.edition_inputs(after.edition_id or 0)
    assert inputs["key_messages"] == ["Use the new referral form", "Talk to your Prevent lead"]
    page = signed_in("approver").get(url).text
    assert "Your changes are saved" not in page and f'action="{url}/approve"' in page, "needs approving again"
    preview = signed_in("viewer").get(f"{url}/preview.html").text
    assert intro in preview and "%%P" not in preview


def test_an_edit_that_fails_the_checks_keeps_what_was_typed(workspace: Workspace, signed_in: SignIn) -> None:
    url = f"/items/{workspace.email_id}"
    author = signed_in("author")
    form = author.get(f"{url}/edit").text
    long_subject = "A subject far too long for any inbox to show, " * 2
    refused = author.post(
        f"{url}/edit",
        data={"csrf_token": csrf_token(form), "version": field_value(form, "version"), "subject": long_subject},
    )
    assert refused.status_code == 400 and 'class="error-summary"' in refused.text
    assert "accessibility check" in refused.text and html.escape(long_subject.strip(), quote=True) in refused.text
    assert workspace.item(workspace.email_id).subject != long_subject.strip()


def test_rejecting_needs_a_reason_and_keeps_what_was_typed(workspace: Workspace, signed_in: SignIn) -> None:
    ann = signed_in("approver")
    url = f"/items/{workspace.post_id}"
    empty = post_form(ann, url, f"{url}/reject", {"reason": "   "})
    assert empty.status_code == 400
    summary = re.search(r'<div class="error-summary".*?</div>', empty.text, re.S)
    assert summary and '<a href="#reason">Enter why you are rejecting it' in summary.group(0)
    assert empty.text.startswith("<!doctype html>") and "<title>Error: " in empty.text
    typed = "The helpline number is wrong. " * 40
    too_long = post_form(ann, url, f"{url}/reject", {"reason": typed})
    assert too_long.status_code == 400 and "The reason must be 1,000 characters or fewer" in too_long.text
    assert html.escape(typed, quote=True).strip() in too_long.text, "what was typed is kept"
    assert workspace.item(workspace.post_id).status == ItemStatus.AWAITING_APPROVAL
    done = post_form(ann, url, f"{url}/reject", {"reason": "Add the helpline number"})
    assert done.status_code == 302
    item = workspace.item(workspace.post_id)
    assert item.status == ItemStatus.DRAFT and item.reason == "Add the helpline number"


def test_a_comment_on_an_earlier_version_is_marked(workspace: Workspace, signed_in: SignIn) -> None:
    author = signed_in("author")
    url = f"/items/{workspace.post_id}"
    assert post_form(author, url, f"{url}/comment", {"comment": "Should we add the helpline?"}).status_code == 302
    edit = author.get(f"{url}/edit").text
    author.post(
        f"{url}/edit", data={"csrf_token": csrf_token(edit), "version": field_value(edit, "version"), "text": "New"}
    )
    assert post_form(author, url, f"{url}/comment", {"comment": "Added it."}).status_code == 302
    page = author.get(url).text
    comments = re.findall(r'<div class="comment( comment--old)?">(.*?)</div>', page, re.S)
    assert [(bool(old), "about an earlier version" in body) for old, body in comments] == [(True, True), (False, False)]
    assert "Should we add the helpline?" in comments[0][1] and ROLES["author"] in comments[0][1]
    empty = post_form(author, url, f"{url}/comment", {"comment": ""})
    assert empty.status_code == 400 and '<a href="#comment">Enter a comment</a>' in empty.text


def test_cancel_and_retry(workspace: Workspace, signed_in: SignIn) -> None:
    failed = _add(workspace, "retry@1")
    workspace.ctx.repos.outbox.transition(failed.id, ItemStatus.FAILED, datetime.now(UTC), reason="relay down")
    url = f"/items/{failed.id}"
    author = signed_in("author")
    page = author.get(url).text
    assert f'action="{url}/retry"' in page and f'action="{url}/cancel"' not in page, "an author cannot cancel"
    assert post_form(author, url, f"{url}/retry").status_code == 302
    assert workspace.item(failed.id).status == ItemStatus.AWAITING_APPROVAL
    ann = signed_in("approver")
    assert post_form(ann, url, f"{url}/cancel").status_code == 302
    assert workspace.item(failed.id).status == ItemStatus.CANCELLED
    again = post_form(ann, url, f"{url}/cancel")
    assert again.status_code == 409 and "it can be cancelled only when" in again.text


# a test to oneself -------------------------------------------------------------------------------
def test_send_me_a_test_reaches_only_me_and_is_not_a_delivery(
    workspace: Workspace, signed_in: SignIn, mailbox: tuple[object, tuple[str, int]]
) -> None:
    box = mailbox[0]
    author = signed_in("author")
    url = f"/items/{workspace.email_id}"
    done = post_form(author, url, f"{url}/test")
    assert done.status_code == 302
    assert f"Test sent to {ROLES['author']}." in _text(author.get(url).text)
    ((rcpt, message),) = box.received  # type: ignore[attr-defined]
    assert rcpt == ROLES["author"] and message["To"] == ROLES["author"]
    assert message["Subject"] == "[TEST] " + workspace.item(workspace.email_id).subject
    body = message.get_body(("plain",)).get_content()
    assert "Dear Sample Reader" in body and "%%P" not in message.as_string()
    assert workspace.ctx.repos.outbox.deliveries(workspace.email_id) == []
    assert workspace.item(workspace.email_id).status == ItemStatus.AWAITING_APPROVAL
    audit, _ = workspace.ctx.repos.audit.entries(action="item.test_sent")
    assert [(e.actor, e.target) for e in audit] == [(ROLES["author"], f"item:{workspace.email_id}")]
    workspace.ctx.repos.control.set_freeze(True, "ada", "incident", datetime.now(UTC))
    paused = post_form(author, url, f"{url}/test")
    assert paused.status_code == 302 and "Sending is paused" in _text(author.get(url).text)
    assert len(box.received) == 2  # type: ignore[attr-defined]
    post_url = f"/items/{workspace.post_id}"
    refused = post_form(author, post_url, f"{post_url}/test")
    assert refused.status_code == 400 and "a test can be sent only of an email" in refused.text
    assert signed_in("viewer").post(f"{url}/test").status_code in (400, 403)


# who may do what ---------------------------------------------------------------------------------
def test_a_viewer_sees_no_actions_and_cannot_post(workspace: Workspace, signed_in: SignIn) -> None:
    viewer = signed_in("viewer")
    for item_id in (workspace.email_id, workspace.post_id):
        url = f"/items/{item_id}"
        page = viewer.get(url).text
        assert re.findall(r'<form[^>]*action="([^"]+)"', page) == ["/signout"]
        assert "What you can do" not in page and "<button" in page  # only the sign-out button
        token = csrf_token(page)
        version = workspace.item(item_id).content_hash
        for action in ("approve", "reject", "cancel", "retry", "comment", "test", "edit"):
            refused = viewer.post(f"{url}/{action}", data={"csrf_token": token, "version": version, "reason": "x"})
            assert refused.status_code == 403, action
            assert "Your role (viewer) cannot" in refused.text
        assert viewer.get(f"{url}/edit").status_code == 403
    assert workspace.item(workspace.email_id).status == ItemStatus.AWAITING_APPROVAL


def test_a_post_without_its_csrf_token_is_refused(workspace: Workspace, signed_in: SignIn) -> None:
    ann = signed_in("approver")
    url = f"/items/{workspace.email_id}"
    ann.get(url)
    version = workspace.item(workspace.email_id).content_hash
    refused = ann.post(f"{url}/approve", data={"version": version})
    assert refused.status_code == 400 and "The form expired" in refused.text
    assert workspace.item(workspace.email_id).status == ItemStatus.AWAITING_APPROVAL


def test_an_unknown_item_is_a_page_not_found(workspace: Workspace, signed_in: SignIn) -> None:
    page = signed_in("viewer").get("/items/9999")
    assert page.status_code == 404 and "no outbox item 9999" in page.text
