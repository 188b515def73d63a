"""Where the feed fetcher may connect: public addresses only, checked on the socket itself.

The check is made on the address a connection actually reached (`getpeername()` after connect), for
every connection requests opens, so the first request and every redirect hop are checked, and a DNS
answer that changes between a check and the connection cannot slip through. One host may be allowed
per adapter: the host of an `internal` feed (an intranet feed) or of a demo rewrite target. Only that
host; a redirect from it to any other private address is refused like any other.

Through an HTTP(S) proxy the socket reaches the proxy, so the target's name is resolved and checked
before the request instead (the proxy resolves it again, so that check is not proof against rebinding).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

METADATA = ipaddress.ip_address("169.254.169.254")
_KINDS = (
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_private", "a private"),
    ("is_reserved", "a reserved"),
)


class Deadline:
    """A total deadline for one fetch, whatever the server does. Every socket the fetch opens (within
    `with Deadline(seconds):`, in this thread) is shut down when the time is up, so a server that trickles
    its headers a byte at a time, over TLS as well, is cut off too; a read then ends, and the fetcher
    reports the deadline. Timers not needed are cancelled when the block ends."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self._timers: list[threading.Timer] = []
        self._token: Token[Deadline | None] | None = None

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def watch(self, sock: socket.socket) -> None:
        timer = threading.Timer(max(self.at - time.monotonic(), 0.0), _shut, [sock])
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def __enter__(self) -> Deadline:
        self._token = _deadline.set(self)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._token is not None:
            _deadline.reset(self._token)


_deadline: ContextVar[Deadline | None] = ContextVar("fetch_deadline", default=None)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already: nothing to cut
        sock.shutdown(socket.SHUT_RDWR)


class RefusedAddress(Exception):
    """A connection reached an address a feed may not use. Not an OSError, so urllib3 does not retry it."""


def refusal(address: str) -> str | None:
    """Why a feed may not connect to `address`, or None if it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for flag, kind in _KINDS:
        if getattr(ip, flag):
            extra = " (the cloud metadata service)" if ip == METADATA else ""
            return f"{ip} is {kind} address{extra}"
    return None if ip.is_global else f"{ip} is not a public address"


def _refused(reason: str) -> RefusedAddress:
    return RefusedAddress(f"refused: {reason}; mark the feed internal in feeds.yaml if it is an intranet feed")


class _Guard:
    allowed_host: ClassVar[str | None] = None
    host: str
    port: int
    proxy: Any
    timeout: Any
    source_address: Any
    socket_options: Any
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        sock = self._guarded_conn()
        deadline = _deadline.get()
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def _guarded_conn(self) -> socket.socket:
        if self.proxy is not None or (self.allowed_host and self.host.lower() == self.allowed_host):
            return super()._new_conn()  # type: ignore[misc,no-any-return]  # a proxy: see `GuardedAdapter.send`
        try:
            found = socket.getaddrinfo(self._dns_host, self.port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        reasons = [refusal(str(info[4][0])) for info in found]
        public = [info[4][0] for info, reason in zip(found, reasons, strict=True) if reason is None]
        if not public:
            raise _refused(next(r for r in reasons if r))
        return self._connect_to(public)

    def _connect_to(self, addresses: list[Any]) -> socket.socket:
        """Connect to the first address that answers (each already checked), and check the peer again."""
        error: Exception | None = None
        for address in addresses:
            try:
                sock = create_connection(
                    (str(address), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                error = ConnectTimeoutError(self, f"Connection to {self.host} timed out")  # type: ignore[arg-type]
                error.__cause__ = exc
                continue
            except OSError as exc:
                error = NewConnectionError(self, f"Failed to establish a new connection: {exc}")  # type: ignore[arg-type]
                continue
            reason = refusal(sock.getpeername()[0])
            if reason:
                sock.close()
                raise _refused(reason)
            return sock
        assert error is not None
        raise error


class _GuardedHTTP(_Guard, HTTPConnection):
    pass


class _GuardedHTTPS(_Guard, HTTPSConnection):
    pass


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose every connection is checked; `allowed_host` may be on a private address."""

    def __init__(self, allowed_host: str | None = None, **kw: Any) -> None:
        host = allowed_host.lower() if allowed_host else None
        http = type("GuardedHTTP", (_GuardedHTTP,), {"allowed_host": host})
        https = type("GuardedHTTPS", (_GuardedHTTPS,), {"allowed_host": host})
        self.allowed_host = host
        self._pools = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = self._pools  # type: ignore[assignment]

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        if select_proxy(request.url or "", kw.get("proxies") or {}):
            self._check_name(request.url or "")
        return super().send(request, *args, **kw)

    def _check_name(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        if host == self.allowed_host:
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
        except OSError:
            return  # the proxy resolves it, or says it cannot
        for address in sorted(addresses):
            reason = refusal(str(address))
            if reason:
                raise _refused(reason)


def guarded_session(allowed_host: str | None = None, session: requests.Session | None = None) -> requests.Session:
    """A session whose http and https connections go only to public addresses (and `allowed_host`)."""
    session = session or requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, GuardedAdapter(allowed_host))
    return session
