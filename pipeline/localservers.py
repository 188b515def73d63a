"""Local servers for the demo and the tests: a static HTTP server for saved feeds, and a real SMTP
server (aiosmtpd) that keeps what it receives. Both listen on 127.0.0.1 only."""

from __future__ import annotations

import email
import email.policy
import functools
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A free TCP port on 127.0.0.1, chosen before the server starts (aiosmtpd cannot use port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the base class declares it as an instance attribute
        **SimpleHTTPRequestHandler.extensions_map,
        ".atom": "application/atom+xml",
        ".rss": "application/rss+xml",
        ".xml": "application/xml",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_http(folder: Path) -> Iterator[str]:
    """Serve a folder over HTTP (with Last-Modified and 304s, as SimpleHTTPRequestHandler does)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """What the SMTP server received: one (recipient, message) per RCPT, optionally kept as .eml files."""

    folder: Path | None = None
    received: list[tuple[str, email.message.EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, message))  # type: ignore[arg-type]
                if self.folder is not None:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    safe = rcpt.replace("@", "_at_").replace("/", "_")
                    (self.folder / f"{len(self.received):05d}-{safe}.eml").write_bytes(envelope.content)
        return "250 Message accepted for delivery"

    def unique(self) -> set[tuple[str, str]]:
        """(recipient, Message-ID) pairs: a resend with the same Message-ID is the same message."""
        with self.lock:
            return {(rcpt, str(msg["Message-ID"])) for rcpt, msg in self.received}


@contextmanager
def smtp_server(mailbox: Mailbox) -> Iterator[tuple[str, int]]:
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()
