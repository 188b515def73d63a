"""Logging set-up for the entry points only. A record is an event and its fields
(`log.info("feed collected", extra={"url": ..., "status": 200, "new": 3, "seconds": 0.41})`), written one
line per event: readable `key=value` by default, or one JSON object per line for a log shipper
(`COMMS_LOG_FORMAT=json`). Library modules just call `logging.getLogger(__name__)`. Every record passes
`RedactingFilter` on its way out, so no secret reaches a log, whatever a library put in its message or
its fields."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from channels.redact import Redactor

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


FORMATS = ("text", "json")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """A record's own fields: what its `extra=` gave, nothing logging adds."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """`{"at": "2026-11-05T08:00:01.120Z", "level": "INFO", "logger": "pipeline.jobs.collect",
    "event": "feed collected", "url": "...", "status": 200, "new": 3, "seconds": 0.41}`, one a line.
    Numbers stay numbers; a field JSON cannot hold is written as its text."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line: dict[str, Any] = {"at": at, "level": record.levelname, "logger": record.name}
        line["event"] = record.getMessage()
        line |= {k: v for k, v in fields(record).items() if k not in line}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["traceback"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


class FieldsFormatter(logging.Formatter):
    """`2026-11-05T08:00:01 INFO pipeline.app job run job=dispatch seconds=0.41 outcome=ok`"""

    def format(self, record: logging.LogRecord) -> str:
        base = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname} {record.name} {record.getMessage()}"
        own = fields(record)
        if own:
            base += " " + " ".join(
                f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}" for k, v in own.items()
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
        for name, value in fields(record).items():
            setattr(record, name, self._redacted(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def _redacted(self, value: Any) -> Any:
        """Strings redacted, inside lists and mappings too; numbers and the like kept as they are."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list | tuple | set | frozenset):
            return [self._redacted(v) for v in value]
        if isinstance(value, dict):
            return {self.redact(str(k)): self._redacted(v) for k, v in value.items()}
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact(str(value))


def configure(level: str = "INFO", file: Path | None = None, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """One handler on the root logger, at `level`, with `secrets` (and credentials by their shape)
    hidden in every record; `fmt` "json" writes one JSON object a line."""
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else FieldsFormatter())
    handler.addFilter(RedactingFilter(Redactor(frozenset(secrets))))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # authlib logs a sign-in's PKCE verifier at DEBUG: kept at WARNING whatever COMMS_LOG_LEVEL says
    for noisy in ("apscheduler", "mail.log", "urllib3", "alembic", "authlib", "procrastinate"):
        logging.getLogger(noisy).setLevel("WARNING")
