"""The whole approval path in a real browser, against a real SMTP server: an author edits the bulletin's
introduction, an approver signs in, previews it and approves it, the clock (a real `comms run --once`
process) sends it when due, and the mail each headteacher receives is the approved version, personalised."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from pipeline.app import Pipeline
from pipeline.records import ItemStatus
from pipeline.rendering.personalise import Personaliser, recipient_values
from tests.browser.conftest import Workspace, sign_in

pytestmark = pytest.mark.browser
INTRO = "This term: the new referral pathway for schools, and who to call first."


def test_edit_preview_approve_and_the_clock_sends_what_was_approved(served: Workspace, page: Any, mailbox: Any) -> None:
    box, _address = mailbox
    ctx = served.ctx
    p = Pipeline(ctx.settings, ctx.repos, ctx.workspace, ctx.renderer, ctx.adapter_for)
    p.import_plan(now=datetime(2026, 11, 1, tzinfo=UTC))
    p.import_subscribers()
    p.compose(datetime(2026, 11, 3, 23, 0, tzinfo=UTC), entry="headteacher-bulletin")
    item_id = next(i.id for i in p.repos.outbox.items() if i.entry_id == "headteacher-bulletin")

    sign_in(page, served.url, "author")
    page.goto(f"{served.url}/items/{item_id}/edit")
    page.get_by_label("Introduction").fill(INTRO)
    page.get_by_role("button", name="Save changes").click()
    page.locator(".banner--success").wait_for()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, served.url, "approver")
    page.goto(f"{served.url}/items/{item_id}")
    preview = page.frame_locator("iframe").first
    assert INTRO in preview.locator("body").inner_text(), "the preview shows the edited introduction"
    assert "%%P" not in page.content()
    page.get_by_role("button", name="Approve").click()
    page.locator(".banner--success").wait_for()
    approved = p.repos.outbox.item(item_id)
    assert approved is not None and approved.status == ItemStatus.APPROVED and approved.approval_current
    assert approved.edited_by == "author@thurrock.gov.uk" and approved.approved_by == "approver@thurrock.gov.uk"

    settings = served.settings
    env = {
        **os.environ,
        "COMMS_DATABASE_URL": settings.database_url,
        "COMMS_WORKSPACE": str(settings.workspace),
        "COMMS_OUTBOX_DIR": str(settings.outbox_dir),
        "COMMS_SMTP_HOST": settings.smtp_host,
        "COMMS_SMTP_PORT": str(settings.smtp_port),
        "COMMS_SECRET_KEY": settings.secret_key,
        "COMMS_FILE_CHANNELS": "*",
        "COMMS_PUBLIC_BASE_URL": settings.public_base_url,
    }
    clock = [sys.executable, "-m", "pipeline.cli", "run", "--once", "--at", "2026-11-05T08:01"]
    done = subprocess.run(clock, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    sent = p.repos.outbox.item(item_id)
    assert sent is not None and sent.status == ItemStatus.SENT

    inputs = p.repos.outbox.edition_inputs(approved.edition_id or 0)
    text_part = Personaliser(approved.body, inputs["nonce"], escape=False)
    bulletins = [(rcpt, msg) for rcpt, msg in box.received if msg["Subject"] == approved.subject]
    received = dict(bulletins)
    assert len(bulletins) == len(received) == 14, "every headteacher and governor, once"
    message: EmailMessage = received["head@gable-hall.example.org"]
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    expected = str(
        text_part.render(
            recipient_values("Mrs A. Patel", "Gable Hall School", "head@gable-hall.example.org", unsubscribe)
        )
    )
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == expected.strip()
    assert INTRO in message.get_body(("html",)).get_content()
    assert message["Subject"] == approved.subject
