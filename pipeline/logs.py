"""Logging set-up for the entry points only. One line per event, with its fields as key=value.
Library modules just call `logging.getLogger(__name__)`. Every record passes `RedactingFilter` on its
way out, so no secret reaches a log, whatever a library put in its message."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path

from channels.redact import Redactor

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class FieldsFormatter(logging.Formatter):
    """`2026-11-05T08:00:01 INFO pipeline.app job run job=dispatch seconds=0.41 outcome=ok`"""

    def format(self, record: logging.LogRecord) -> str:
        base = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname} {record.name} {record.getMessage()}"
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
        if fields:
            base += " " + " ".join(
                f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}" for k, v in fields.items()
            )
        if record.exc_text:
            base += "\n" + record.exc_text
        elif record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


class RedactingFilter(logging.Filter):
    """Hides secrets in a record's message, its fields and its traceback (`channels.redact`)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD and not name.startswith("_") and isinstance(value, str):
                setattr(record, name, self.redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def configure(level: str = "INFO", file: Path | None = None, secrets: Iterable[str] = ()) -> None:
    """One handler on the root logger, at `level`, with `secrets` (and credentials by their shape)
    hidden in every record."""
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FieldsFormatter())
    handler.addFilter(RedactingFilter(Redactor(frozenset(secrets))))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # authlib logs a sign-in's PKCE verifier at DEBUG: kept at WARNING whatever COMMS_LOG_LEVEL says
    for noisy in ("apscheduler", "mail.log", "urllib3", "alembic", "authlib", "procrastinate"):
        logging.getLogger(noisy).setLevel("WARNING")
