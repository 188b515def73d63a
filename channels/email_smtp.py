"""Email over SMTP: multipart HTML + text, RFC 8058 one-click unsubscribe, a stable Message-ID from the
idempotency key, a bounded pool of reused connections, and an hourly rate limit."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import queue
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parseaddr

from channels.addresses import ADDRESS_SHAPE, address_problem, valid_address  # noqa: F401 - one check, re-exported
from channels.base import ChannelError, Post, Receipt
from channels.mime import build_mime

IDLE_CHECK_SECONDS = 20.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    sender: str = "Prevent Communications <prevent@example.org>"
    pool_size: int = 2
    rate_per_hour: int = 0
    timeout: float = 30.0


@functools.lru_cache(maxsize=8)
def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "comms.invalid"


@functools.lru_cache(maxsize=64)
def _date_header(moment: datetime) -> str:
    return format_datetime(moment)


def message_id(key: str, sender: str) -> str:
    """The same key always gives the same Message-ID, so a resend after a crash is recognisable."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{_domain(sender)}>"


def address_problems(address: str) -> list[str]:
    """The one address check (`channels.addresses`), the same that a subscriber import makes."""
    problem = address_problem(address)
    return [] if problem is None else [f"recipient {address!r} is not an email address ({ADDRESS_SHAPE}): {problem}"]


def build_message(post: Post, key: str, sender: str) -> tuple[str, bytes]:
    """The Message-ID and the message bytes (multipart/alternative, CRLF, RFC 8058 headers)."""
    mid = message_id(key, sender)
    headers = [("From", sender), ("To", post.recipient), ("Subject", post.subject), ("Message-ID", mid)]
    if post.due_at is not None:
        headers.append(("Date", _date_header(post.due_at)))
    if post.unsubscribe_url:
        headers += [
            ("List-Unsubscribe", f"<{post.unsubscribe_url}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]
    headers += list(post.headers)
    return mid, build_mime(headers, post.text, post.html or None)


def _transaction(conn: smtplib.SMTP, sender: str, recipient: str, msg: bytes) -> None:
    """One message to one recipient: `smtplib.SMTP.sendmail` without re-parsing addresses that were
    checked already (its `quoteaddr` runs the email parser twice per message) and with cheaper
    dot-stuffing. Where the server offers PIPELINING (RFC 2920: Postfix, Exchange Online, most
    relays), MAIL, RCPT and DATA go in one write: two round trips a message instead of four. Raises
    the same exceptions sendmail does."""
    mail, rcpt = f"FROM:<{sender}>", f"TO:<{recipient}>"
    if conn.does_esmtp and conn.has_extn("pipelining"):
        conn.send(f"MAIL {mail}\r\nRCPT {rcpt}\r\nDATA\r\n")
        replies = [conn.getreply() for _ in range(3)]
        (mail_code, mail_text), (rcpt_code, rcpt_text), (data_code, data_text) = replies
        if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
            conn.send(b".\r\n")  # the server took DATA after all: end the empty message unsent
            conn.getreply()
            data_code = 0
    else:
        mail_code, mail_text = conn.docmd("mail", mail)
        rcpt_code, rcpt_text, data_code, data_text = 0, b"", 0, b""
        if mail_code == 250:
            rcpt_code, rcpt_text = conn.docmd("rcpt", rcpt)
            if rcpt_code in (250, 251):
                data_code, data_text = conn.docmd("data")
    if mail_code != 250:
        _reset(conn, mail_code)
        raise smtplib.SMTPSenderRefused(mail_code, mail_text, sender)
    if rcpt_code not in (250, 251):
        _reset(conn, rcpt_code)
        raise smtplib.SMTPRecipientsRefused({recipient: (rcpt_code, rcpt_text)})
    if data_code != 354:
        _reset(conn, data_code)
        raise smtplib.SMTPDataError(data_code, data_text)
    # Dot-stuffing (RFC 5321 4.5.2) with bytes.replace: `SMTP.data` uses a multi-line regex, which
    # cost more than the rest of the message's assembly. The message is CRLF throughout (mime.py).
    stuffed = msg.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    conn.send(stuffed + (b".\r\n" if stuffed.endswith(b"\r\n") else b"\r\n.\r\n"))
    code, text = conn.getreply()
    if code != 250:
        _reset(conn, code)
        raise smtplib.SMTPDataError(code, text)


def _reset(conn: smtplib.SMTP, code: int) -> None:
    if code == 421:
        conn.close()
    else:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.rset()


class _RateLimit:
    """At most `per_hour` sends in any rolling hour (0: no limit). Waits rather than refusing."""

    def __init__(self, per_hour: int, clock=time.monotonic, sleep=time.sleep) -> None:  # type: ignore[no-untyped-def]
        self.interval = 3600.0 / per_hour if per_hour else 0.0
        self.next_free = 0.0
        self.lock = threading.Lock()
        self.clock, self.sleep = clock, sleep

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = self.clock()
            slot = max(now, self.next_free)
            self.next_free = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


class SmtpAdapter:
    kind = "email"

    def __init__(self, channel: str, config: SmtpConfig) -> None:
        self.channel, self.config = channel, config
        self.envelope_from = parseaddr(config.sender)[1]
        self._idle: queue.LifoQueue[tuple[smtplib.SMTP, float]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(config.pool_size)
        self._rate = _RateLimit(config.rate_per_hour)

    def validate(self, post: Post) -> list[str]:
        problems = address_problems(post.recipient)
        if not post.subject.strip():
            problems.append("the subject is empty")
        if not post.text.strip():
            problems.append("the plain-text part is empty")
        return problems

    def send(self, post: Post, key: str) -> Receipt:
        mid, msg = build_message(post, key, self.config.sender)
        self._rate.wait()
        with self._slots:
            conn = self._connection()
            try:
                _transaction(conn, self.envelope_from, post.recipient, msg)
            except UnicodeEncodeError:
                self._release(conn)
                raise ChannelError(
                    self.channel,
                    "the address is not ASCII (SMTPUTF8 is not used)",
                    transient=False,
                    recipient_rejected=True,
                ) from None
            except smtplib.SMTPRecipientsRefused as exc:
                self._release(conn)
                code, text = next(iter(exc.recipients.values()))
                raise self._error(code, text, recipient=True) from None
            except smtplib.SMTPResponseException as exc:
                self._discard(conn)
                raise self._error(exc.smtp_code, exc.smtp_error) from None
            except (smtplib.SMTPException, OSError) as exc:
                self._discard(conn)
                raise ChannelError(self.channel, f"connection failed: {exc}", transient=True) from None
            self._idle.put((conn, time.monotonic()))
        return Receipt(external_id=mid)

    def check(self) -> str:
        """Connect (and log in), then NOOP: the server, security and credentials all work."""
        with self._slots:
            conn = self._connection()
            try:
                code, _text = conn.noop()
            except (smtplib.SMTPException, OSError) as exc:
                self._discard(conn)
                raise ChannelError(self.channel, f"connection failed: {exc}", transient=True) from None
            self._release(conn)
        c = self.config
        login = f", logged in as {c.username}" if c.username else ""
        return f"{c.host}:{c.port} answered {code} ({c.security}{login})"

    def _error(self, code: int, text: bytes | str, recipient: bool = False) -> ChannelError:
        message = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        permanent = 500 <= code < 600
        return ChannelError(
            self.channel, f"SMTP {code} {message}", transient=not permanent, recipient_rejected=permanent and recipient
        )

    def _connection(self) -> smtplib.SMTP:
        try:
            conn, since = self._idle.get_nowait()
            if time.monotonic() - since < IDLE_CHECK_SECONDS or conn.noop()[0] == 250:
                return conn  # a connection idle for a while is checked with NOOP first
            self._discard(conn)
        except queue.Empty:
            pass
        except (smtplib.SMTPException, OSError):
            pass
        return self._connect()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        try:
            if c.security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.security == "starttls":
                    conn.starttls(context=ssl.create_default_context())
            conn.ehlo_or_helo_if_needed()
            if c.username:
                conn.login(c.username, c.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(
                self.channel,
                f"SMTP login refused ({exc.smtp_code}); check COMMS_SMTP_USERNAME and COMMS_SMTP_PASSWORD",
                transient=False,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(self.channel, f"cannot connect to {c.host}:{c.port}: {exc}", transient=True) from None
        return conn

    def _release(self, conn: smtplib.SMTP) -> None:
        """Back to the pool, unless the server closed it (a 421)."""
        if conn.sock is None:
            self._discard(conn)
        else:
            self._idle.put((conn, time.monotonic()))

    def _discard(self, conn: smtplib.SMTP) -> None:
        with contextlib.suppress(OSError):
            conn.close()

    def close(self) -> None:
        while True:
            try:
                conn, _since = self._idle.get_nowait()
            except queue.Empty:
                return
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()
