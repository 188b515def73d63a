"""What each destination does its own way: text formats, error codes, tokens, templates."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from channels import registry
from channels.base import ChannelError, Post
from channels.bluesky import BlueskyAdapter, facets, tid
from channels.entra import EntraToken
from channels.facebook import FacebookAdapter
from channels.linkedin import little_text
from channels.notify import NotifyAdapter
from channels.richtext import text_to_html
from channels.sharepoint import SharePointNewsAdapter
from channels.wordpress import WordPressAdapter, slug
from channels.x import XAdapter
from content_calendar.errors import CalendarError
from content_calendar.models import CHANNEL_KINDS
from content_calendar.strategy import load_strategy
from pipeline.settings import load_settings
from tests.fakes import FakeBluesky, FakeEntra, FakeFacebook, FakeNotify, FakeSharePoint, FakeWordPress, FakeX
from tests.httpserver import Response, Server, http_server

DUE = datetime(2026, 11, 17, 19, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "thurrock"


def post(text: str = "Worried about someone? #ACTEarly https://actearly.uk", **kw: object) -> Post:
    return Post(channel="c", kind="x", text=text, due_at=DUE, **kw)  # type: ignore[arg-type]


# LinkedIn little text ----------------------------------------------------------------------------


def test_linkedin_commentary_escapes_markup_and_keeps_hashtags_and_links() -> None:
    text = "Prevent (safeguarding) [guide] <now> a_b *x* ~y~ @team | 50% #Prevent https://x.org/a_(b)"
    assert little_text(text) == (
        r"Prevent \(safeguarding\) \[guide\] \<now\> a\_b \*x\* \~y\~ \@team \| 50% {hashtag|\#|Prevent} "
        "https://x.org/a_(b)"
    )
    assert little_text("Mrs O'Neil & #1 fan") == "Mrs O'Neil & {hashtag|\\#|1} fan"


# Bluesky -----------------------------------------------------------------------------------------


def test_bluesky_record_keys_are_valid_tids_stable_per_key_and_near_the_due_time() -> None:
    a, b = tid("send:bluesky:1:-", DUE), tid("send:bluesky:2:-", DUE)
    assert a == tid("send:bluesky:1:-", DUE) and a != b
    for key in (a, b):
        assert len(key) == 13 and key[0] in "234567abcdefghij"
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    micros = sum(alphabet.index(c) << (5 * i) for i, c in enumerate(reversed(a))) >> 10
    assert abs(micros / 1e6 - DUE.timestamp()) < 1.0


def test_bluesky_facets_count_utf8_bytes() -> None:
    text = "£5 café 🇬🇧 fund: https://example.org/£x. #Prevent"
    found = facets(text)
    encoded = text.encode()
    link, tag = found
    assert encoded[link["index"]["byteStart"] : link["index"]["byteEnd"]].decode() == "https://example.org/£x"
    assert encoded[tag["index"]["byteStart"] : tag["index"]["byteEnd"]].decode() == "#Prevent"
    assert tag["features"][0] == {"$type": "app.bsky.richtext.facet#tag", "tag": "Prevent"}


def test_bluesky_logs_in_again_when_the_session_expires() -> None:
    with http_server() as server:
        fake = FakeBluesky(server)
        adapter = BlueskyAdapter("bluesky", fake.HANDLE, fake.PASSWORD, server.url)
        adapter.send(post(), "send:b:1:-")
        fake.expire_tokens()
        adapter.send(post("Second post"), "send:b:2:-")
        assert len(fake.records) == 2 and fake.sessions == 2


def test_bluesky_wrong_app_password_is_a_clear_permanent_error() -> None:
    with http_server() as server:
        fake = FakeBluesky(server)
        adapter = BlueskyAdapter("bluesky", fake.HANDLE, "wrong-pass-word-here", server.url)
        with pytest.raises(ChannelError) as caught:
            adapter.send(post(), "send:b:1:-")
        assert not caught.value.transient and "credentials" in str(caught.value)
        assert "wrong-pass-word-here" not in str(caught.value)


# Facebook and X error codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "transient", "words"),
    [(190, False, "COMMS_FACEBOOK_PAGE_TOKEN"), (32, True, "Facebook error 32"), (200, False, "pages_manage_posts")],
)
def test_facebook_graph_error_codes(code: int, transient: bool, words: str) -> None:
    with http_server() as server:
        fake = FakeFacebook(server)
        adapter = FacebookAdapter("facebook", fake.PAGE, fake.TOKEN, fake.url)
        error = {"message": "Graph says no", "type": "OAuthException", "code": code}
        fake.fail_next(Response(400, json.dumps({"error": error}), {"Content-Type": "application/json"}))
        with pytest.raises(ChannelError) as caught:
            adapter.send(post(), "send:f:1:-")
        assert caught.value.transient is transient and words in str(caught.value)


def test_facebook_sends_the_link_for_its_preview_card_and_the_token_only_in_a_header() -> None:
    with http_server() as server:
        fake = FakeFacebook(server)
        adapter = FacebookAdapter("facebook", fake.PAGE, fake.TOKEN, fake.url)
        adapter.send(post("Advice for parents", link="https://educateagainsthate.com/parents/"), "send:f:1:-")
        assert fake.posts[0]["link"] == "https://educateagainsthate.com/parents/"
        assert all(fake.TOKEN not in r.path and fake.TOKEN.encode() not in r.body for r in server.requests)


def test_x_rate_limit_waits_until_its_reset_time() -> None:
    with http_server() as server:
        fake = FakeX(server)
        adapter = XAdapter("x", fake.TOKEN, server.url)
        fake.fail_next(Response(429, "{}", {"x-rate-limit-reset": str(int(time.time()) + 900)}))
        with pytest.raises(ChannelError) as caught:
            adapter.send(post(), "send:x:1:-")
        assert caught.value.transient and caught.value.retry_after is not None
        assert 880 <= caught.value.retry_after <= 900


def test_x_duplicate_content_is_refused_in_xs_words() -> None:
    with http_server() as server:
        fake = FakeX(server)
        adapter = XAdapter("x", fake.TOKEN, server.url)
        adapter.send(post(), "send:x:1:-")
        with pytest.raises(ChannelError) as caught:
            adapter.send(post(), "send:x:2:-")
        assert not caught.value.transient and "duplicate content" in str(caught.value)


def test_x_counts_links_as_23_characters() -> None:
    adapter = XAdapter("x", "t", "http://127.0.0.1:9")
    long_link = "https://www.thurrock.gov.uk/" + "a" * 200
    assert adapter.validate(post("Read more " + long_link)) == []
    assert adapter.validate(post("é" * 281))  # over 280


# Microsoft 365 -----------------------------------------------------------------------------------


def _token(server_url: str, entra: FakeEntra, session: requests.Session, secret: str | None = None) -> EntraToken:
    return EntraToken(
        "intranet",
        session,
        login_url=server_url,
        tenant_id=entra.TENANT,
        client_id=entra.CLIENT,
        client_secret=secret or entra.SECRET,
        scope="https://graph.microsoft.com/.default",
    )


def sharepoint(server: Server, secret: str | None = None) -> tuple[SharePointNewsAdapter, FakeSharePoint, FakeEntra]:
    entra, session = FakeEntra(server), requests.Session()
    fake = FakeSharePoint(server, entra)
    token = _token(server.url, entra, session, secret)
    return SharePointNewsAdapter("news", fake.SITE, token, fake.url, session=session), fake, entra


def test_sharepoint_news_page_is_made_once_published_and_its_token_reused() -> None:
    with http_server() as server:
        adapter, fake, entra = sharepoint(server)
        receipt = adapter.send(post("Prevent Champions <b>wanted</b>\n\nSee https://intranet.example/prevent"), "k1")
        adapter.send(post("Another item"), "k2")
        page = fake.pages[receipt.external_id]
        assert page["promotionKind"] == "newsPost" and page["publishingState"]["level"] == "published"
        inner = page["canvasLayout"]["horizontalSections"][0]["columns"][0]["webparts"][0]["innerHtml"]
        assert "&lt;b&gt;wanted&lt;/b&gt;" in inner and '<a href="https://intranet.example/prevent">' in inner
        assert len(entra.issued) == 1, "one token for both sends"


def test_sharepoint_page_left_unpublished_by_a_crash_is_published_not_made_again() -> None:
    with http_server() as server:
        adapter, fake, _entra = sharepoint(server)
        original = adapter.publish
        adapter.publish = lambda page_id: (_ for _ in ()).throw(ChannelError("news", "killed", transient=True))  # type: ignore[method-assign]
        with pytest.raises(ChannelError):
            adapter.send(post(), "k1")
        assert len(fake.pages) == 1 and fake.published() == 0
        adapter.publish = original  # type: ignore[method-assign]
        receipt = adapter.send(post(), "k1")
        assert receipt.duplicate and len(fake.pages) == 1 and fake.published() == 1


def test_entra_refusal_names_the_settings_and_never_the_secret() -> None:
    with http_server() as server:
        adapter, _fake, _entra = sharepoint(server, secret="not-the-secret")
        with pytest.raises(ChannelError) as caught:
            adapter.send(post(), "k1")
        message = str(caught.value)
        assert not caught.value.transient and "COMMS_MICROSOFT_CLIENT_SECRET" in message and "AADSTS7000215" in message
        assert "not-the-secret" not in message


# WordPress ---------------------------------------------------------------------------------------


def test_wordpress_slug_is_readable_and_unique_per_key() -> None:
    a = slug("Review the Prevent pages & contact details", "send:website:1:-")
    assert a.startswith("review-the-prevent-pages-contact-details-") and len(a.rsplit("-", 1)[1]) == 8
    assert a != slug("Review the Prevent pages & contact details", "send:website:2:-")
    assert slug("££", "k").startswith("post-")


def test_wordpress_post_is_escaped_html_with_links() -> None:
    with http_server() as server:
        fake = FakeWordPress(server)
        adapter = WordPressAdapter("website", server.url, fake.USER, fake.APP_PASSWORD)
        adapter.send(post("<script>alert(1)</script>\n\nMore: https://www.gov.uk/prevent", subject="Prevent"), "k")
        content = fake.posts[0]["content"]["raw"]
        assert "<script>" not in content and "&lt;script&gt;" in content
        assert fake.posts[0]["status"] == "publish" and fake.posts[0]["title"]["raw"] == "Prevent"
    assert text_to_html("a\nb\n\nc") == "<p>a<br>b</p><p>c</p>"


# GOV.UK Notify -----------------------------------------------------------------------------------


def notify_post(recipient: str = "head@school.example.org") -> Post:
    return Post(
        channel="bulletin",
        kind="notify",
        text="Dear Mrs Patel,\n\nPrevent update for schools.",
        subject="Headteacher bulletin",
        recipient=recipient,
        due_at=DUE,
        unsubscribe_url="https://comms.example.org/unsubscribe?token=abc",
    )


def test_notify_sends_through_the_template_with_a_reference_free_of_personal_data() -> None:
    with http_server() as server:
        fake = FakeNotify(server)
        adapter = NotifyAdapter("bulletin", fake.API_KEY, fake.TEMPLATE, server.url)
        assert adapter.validate(notify_post()) == []
        adapter.send(notify_post(), "send:bulletin:4:head@school.example.org")
        sent = fake.sent[0]
        assert sent["personalisation"]["subject"] == "Headteacher bulletin"
        assert sent["personalisation"]["body"].startswith("Dear Mrs Patel")
        assert sent["one_click_unsubscribe_url"] == "https://comms.example.org/unsubscribe?token=abc"
        assert "@" not in sent["reference"] and "head" not in sent["reference"]
        assert all(fake.SECRET not in json.dumps(r.headers) for r in server.requests), "the key never travels"


def test_notify_template_without_the_placeholders_is_refused_before_sending() -> None:
    with http_server() as server:
        fake = FakeNotify(server, template_body="Hello ((name))")
        adapter = NotifyAdapter("bulletin", fake.API_KEY, fake.TEMPLATE, server.url)
        problems = adapter.validate(notify_post())
        assert problems and "((body))" in problems[0] and "templates/notify/README.md" in problems[0]
        assert fake.sent == []


def test_notify_bad_key_and_bad_address() -> None:
    with pytest.raises(ChannelError, match="not a Notify API key"):
        NotifyAdapter("bulletin", "just-a-password", FakeNotify.TEMPLATE, "http://127.0.0.1:9")
    with http_server() as server:
        fake = FakeNotify(server)
        wrong = f"comms-{fake.SERVICE}-{'0' * 8}-{'0' * 4}-{'0' * 4}-{'0' * 4}-{'0' * 12}"
        with pytest.raises(ChannelError) as caught:
            NotifyAdapter("bulletin", wrong, fake.TEMPLATE, server.url).send(notify_post(), "k")
        assert not caught.value.transient and "COMMS_NOTIFY_API_KEY" in str(caught.value)
        adapter = NotifyAdapter("bulletin", fake.API_KEY, fake.TEMPLATE, server.url)
        assert adapter.validate(notify_post("not-an-address"))
        with pytest.raises(ChannelError) as caught:
            adapter.send(notify_post("head@localhost"), "k2")
        assert caught.value.recipient_rejected and not caught.value.transient


# Registry and strategy ---------------------------------------------------------------------------


def test_every_kind_a_strategy_may_name_has_an_adapter() -> None:
    assert set(registry.FACTORIES) == CHANNEL_KINDS


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("facebook", "COMMS_FACEBOOK_PAGE_ID, COMMS_FACEBOOK_PAGE_TOKEN"),
        ("x", "COMMS_X_TOKEN"),
        ("linkedin", "COMMS_LINKEDIN_TOKEN, COMMS_LINKEDIN_AUTHOR"),
        ("bluesky", "COMMS_BLUESKY_HANDLE, COMMS_BLUESKY_APP_PASSWORD"),
        ("sharepoint", "COMMS_MICROSOFT_TENANT_ID, COMMS_MICROSOFT_CLIENT_ID, COMMS_MICROSOFT_CLIENT_SECRET"),
        ("viva-engage", "COMMS_MICROSOFT_TENANT_ID"),
        ("wordpress", "COMMS_WORDPRESS_URL, COMMS_WORDPRESS_USERNAME, COMMS_WORDPRESS_APP_PASSWORD"),
        ("notify", "COMMS_NOTIFY_API_KEY, COMMS_NOTIFY_TEMPLATE_ID"),
        ("mastodon", "COMMS_MASTODON_BASE_URL, COMMS_MASTODON_TOKEN"),
    ],
)
def test_missing_credentials_are_named_before_anything_is_sent(kind: str, names: str) -> None:
    settings = load_settings(environ={}, env_file=None)
    with pytest.raises(ChannelError) as caught:
        registry.build("c", kind, settings)
    assert names in str(caught.value) and not caught.value.transient


def test_an_unknown_channel_kind_is_refused_with_its_line(tmp_path: Path) -> None:
    text = (EXAMPLE / "strategy.yaml").read_text().replace("kind: viva-engage", "kind: yammer")
    (tmp_path / "strategy.yaml").write_text(text)
    with pytest.raises(CalendarError) as caught:
        load_strategy(tmp_path / "strategy.yaml")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "kind: yammer" in t)
    assert f"strategy.yaml:{line}" in str(caught.value) and "channels.intranet.kind" in str(caught.value)


# Email -------------------------------------------------------------------------------------------


def test_email_lines_starting_with_a_dot_arrive_whole() -> None:
    from channels.email_smtp import SmtpAdapter, SmtpConfig
    from pipeline.localservers import Mailbox, smtp_server

    text = ".first line\nsecond\n.\n..two dots\n. spaced"
    box = Mailbox()
    with smtp_server(box) as (host, port):
        adapter = SmtpAdapter("newsletter", SmtpConfig(host, port))
        email = Post(channel="n", kind="email", text=text, subject="Dots", html=f"<p>{text}</p>", recipient="a@b.org")
        adapter.send(email, "send:n:1:a@b.org")
        adapter.close()
    (_rcpt, msg), *_ = box.received
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == text
    assert text in msg.get_body(("html",)).get_content().replace("\r\n", "\n")


def test_check_names_what_is_wrong() -> None:
    from channels.email_smtp import SmtpAdapter, SmtpConfig
    from channels.file import FileAdapter
    from pipeline.localservers import free_port

    with http_server() as server:
        fake = FakeWordPress(server)
        with pytest.raises(ChannelError) as caught:
            WordPressAdapter("website", server.url, fake.USER, "wrong password").check()
        assert "credentials" in str(caught.value) and "wrong password" not in str(caught.value)
        notify = FakeNotify(server, template_body="Hello")
        with pytest.raises(ChannelError, match=r"lacks \(\(body\)\)"):
            NotifyAdapter("bulletin", notify.API_KEY, notify.TEMPLATE, server.url).check()
    with pytest.raises(ChannelError, match="cannot connect"):
        SmtpAdapter("newsletter", SmtpConfig("127.0.0.1", free_port(), timeout=2)).check()
    blocker = Path(__file__)  # a file where the folder should be
    with pytest.raises(ChannelError, match="cannot write"):
        FileAdapter("facebook", blocker).check()


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from channels.http import retry_after

    assert retry_after("120") == 120.0
    assert retry_after("Sun, 22 Nov 2099 09:00:00 GMT") > 365 * 24 * 3600
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: now
    assert retry_after("soon") is None and retry_after(None) is None


class PipeliningMailbox:
    """A real aiosmtpd server that offers PIPELINING (as Postfix and Exchange Online do) and refuses
    one address at RCPT."""

    def __init__(self) -> None:
        from pipeline.localservers import Mailbox

        self.box = Mailbox()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 <gone@school.example.org>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await self.box.handle_DATA(server, session, envelope)


def test_email_pipelines_mail_rcpt_and_data_where_the_server_offers_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import smtplib

    from aiosmtpd.controller import Controller

    from channels.email_smtp import SmtpAdapter, SmtpConfig
    from pipeline.localservers import free_port

    writes: list[bytes] = []
    original = smtplib.SMTP.send

    def counting(self: smtplib.SMTP, s: str | bytes) -> None:
        writes.append(s.encode() if isinstance(s, str) else s)
        original(self, s)

    monkeypatch.setattr(smtplib.SMTP, "send", counting)
    handler = PipeliningMailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        adapter = SmtpAdapter("bulletin", SmtpConfig("127.0.0.1", port, pool_size=1))

        def email(to: str) -> Post:
            return Post(channel="b", kind="email", text="Hello", subject="Bulletin", html="<p>Hello</p>", recipient=to)

        adapter.send(email("head@school.example.org"), "send:b:1:head@school.example.org")
        with pytest.raises(ChannelError) as caught:
            adapter.send(email("gone@school.example.org"), "send:b:1:gone@school.example.org")
        assert caught.value.recipient_rejected and "User unknown" in str(caught.value)
        adapter.send(email("deputy@school.example.org"), "send:b:1:deputy@school.example.org")
        adapter.close()
    finally:
        controller.stop()
    assert sorted(r for r, _m in handler.box.received) == ["deputy@school.example.org", "head@school.example.org"]
    pipelined = [w for w in writes if w.startswith(b"MAIL FROM:") and b"\r\nRCPT TO:" in w and w.endswith(b"DATA\r\n")]
    assert len(pipelined) == 3, "one write for the three commands of each message"


def test_two_facebook_pages_each_with_its_own_token() -> None:
    with http_server() as server:
        council = FakeFacebook(server)
        settings = load_settings(
            environ={
                "COMMS_FACEBOOK_PAGE_ID": council.PAGE,
                "COMMS_FACEBOOK_PAGE_TOKEN": council.TOKEN,
                "COMMS_FACEBOOK_GRAPH_URL": council.url,
                "COMMS_CHANNEL__PREVENT_FACEBOOK__FACEBOOK_PAGE_ID": "5550001",
                "COMMS_CHANNEL__PREVENT_FACEBOOK__FACEBOOK_PAGE_TOKEN": "prevent-page-token",
            },
            env_file=None,
        )
        seen: list[tuple[str, str]] = []

        def prevent_page(request):  # type: ignore[no-untyped-def]
            seen.append((request.path, request.headers.get("Authorization", "")))
            return Response(200, json.dumps({"id": "5550001_1"}), {"Content-Type": "application/json"})

        server.route("/v21.0/5550001/feed", prevent_page)
        registry.build("facebook", "facebook", settings).send(post(), "send:facebook:1:-")
        registry.build("prevent-facebook", "facebook", settings).send(post(), "send:prevent-facebook:1:-")
        assert len(council.posts) == 1
        assert seen == [("/v21.0/5550001/feed", "Bearer prevent-page-token")]
