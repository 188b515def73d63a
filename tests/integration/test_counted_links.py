"""An edition's links go out counted: each http(s) link in the HTML goes through /r/ with a token naming
the item, the recipient's audience and the link (no person), the plain text keeps readable links, the
unsubscribe link is left alone, and `COMMS_LINK_COUNTING=false` sends every link as it is."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.app import Pipeline, make_pipeline
from pipeline.links import link_key, verify_link
from pipeline.localservers import Mailbox
from pipeline.settings import Settings

DUE = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
COMPOSE_AT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
HREF = re.compile(r'href="([^"]+)"')


def send_bulletin(p: Pipeline) -> int:
    p.import_plan(now=COMPOSE_AT)
    p.import_subscribers()
    p.compose(COMPOSE_AT, entry="headteacher-bulletin")
    item = next(i for i in p.repos.outbox.items() if i.entry_id == "headteacher-bulletin")
    p.repos.outbox.transition(item.id, "approved", COMPOSE_AT, by="Prevent Coordinator")
    p.dispatch(DUE + timedelta(minutes=1))
    return item.id


def test_links_are_counted_per_audience_and_the_text_keeps_them_readable(
    pipeline: Pipeline, mailbox: tuple[Mailbox, Any]
) -> None:
    box, _ = mailbox
    item_id = send_bulletin(pipeline)
    item = pipeline.repos.outbox.item(item_id)
    assert item is not None
    originals = {h for h in HREF.findall(item.html) if h.startswith("http")}
    assert originals, "the bulletin has links to count"
    key = link_key("test-secret")
    audiences = {d.recipient: d.audience for d in pipeline.repos.outbox.deliveries(item_id)}
    assert set(audiences.values()) == {"headteachers", "governors"}
    for rcpt, msg in box.received:
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        counted = [h for h in HREF.findall(html) if h.startswith("http://localhost:8000/r/")]
        assert counted and len(counted) == len([h for h in HREF.findall(html) if "/r/" in h])
        for href in counted:
            found_item, audience, url = verify_link(key, href.rsplit("/r/", 1)[1])
            assert (found_item, audience) == (item_id, audiences[rcpt])
            assert url.replace("&", "&amp;") in item.html or url in item.html
            assert rcpt not in href and rcpt.split("@")[0] not in href.rsplit("/r/", 1)[1]
        assert "/r/" not in text, "the plain text keeps readable links"
        assert "/unsubscribe?token=" in html, "our own unsubscribe link is not counted"
    assert all(h not in {x for _r, m in box.received for x in HREF.findall(m.get_body(("html",)).get_content())}
               for h in originals if "unsubscribe" not in h)  # fmt: skip


def test_link_counting_off_sends_links_as_they_are(settings: Settings, mailbox: tuple[Mailbox, Any]) -> None:
    box, _ = mailbox
    p = make_pipeline(Settings(**{**settings.__dict__, "link_counting": False}))
    try:
        item_id = send_bulletin(p)
        item = p.repos.outbox.item(item_id)
        assert item is not None
        originals = {h for h in HREF.findall(item.html) if h.startswith("http")}
        _rcpt, msg = box.received[0]
        html = msg.get_body(("html",)).get_content()
        assert "/r/" not in html and originals <= set(HREF.findall(html))
    finally:
        p.repos.engine.dispose()
