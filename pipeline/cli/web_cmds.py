"""comms web (and its old name, comms serve): the web workspace and the one-click unsubscribe links,
served by gunicorn.

The settings, the database and the workspace are checked once here, before any worker starts, so a
problem is one line and exit 2. Each worker then builds its own application and database pool from the
same settings (`pipeline.web.wsgi.build`). SIGTERM (a deploy) and Ctrl-C stop it gracefully: requests under
way finish, within `graceful_timeout`.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from pipeline.cli import common
from pipeline.errors import CommsError
from pipeline.settings import Settings

# The path only: a query string can carry an unsubscribe token or a sign-in code, so it is never logged.
ACCESS_LOG = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    web = commands.add_parser(
        "web", help="the web workspace and the one-click unsubscribe links (gunicorn; Procfile: web:)"
    )
    _options(web)
    web.set_defaults(func=cmd_web)
    serve = commands.add_parser("serve", help="the old name of `comms web`")
    _options(serve)
    serve.set_defaults(func=cmd_serve)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; 0.0.0.0 for all)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    # Measured on 2 cores (benchmarks/RESULTS.md, web pages): 4 processes of 2 threads kept the queue's p95
    # under 200 ms where 2 of 4 did not; a page's work is mostly Python, so processes count more than threads.
    parser.add_argument("--workers", type=int, default=4, help="worker processes (default: 4, two per core)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (default: 2)")


class WebServer(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured here rather than from its command line, with the application built per worker."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # an older gunicorn lacks the newest settings
                self.cfg.set(key, value)

    def load(self) -> Any:
        from pipeline.web.wsgi import build

        app, _context = build(self.settings)
        return app


def gunicorn_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    return {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": args.threads,
        "timeout": 30,
        "graceful_timeout": 30,
        "keepalive": 5,
        "limit_request_line": 4094,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "proc_name": "comms-web",
        "control_socket_disable": True,  # no runtime control socket: nothing to reach it through
    }


def _check_port(host: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise CommsError(f"--port {port} is not a port number (1-65535)")
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CommsError(f"cannot listen on {host}:{port} ({why}): is something else using it? Try --port") from None


def cmd_web(args: argparse.Namespace) -> int:
    from pipeline.web.app import check_settings
    from pipeline.web.wsgi import build

    if args.workers < 1 or args.threads < 1:
        raise CommsError("--workers and --threads must be at least 1")
    settings = common.settings(args)
    check_settings(settings)
    _check_port(args.host, args.port)
    _app, context = build(settings)  # settings, workspace and database checked before anything listens
    context.close()
    print(
        f"comms web: the workspace at http://{args.host}:{args.port}/ "
        f"(public address {settings.public_base_url}); Ctrl-C to stop",
        flush=True,
    )
    WebServer(settings, gunicorn_options(args, settings)).run()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    print(
        "`comms serve` is now `comms web`: it serves the workspace as well as the unsubscribe links.", file=sys.stderr
    )
    return cmd_web(args)
