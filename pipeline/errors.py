"""Errors that carry what they concern. All share the root `CommsError`."""

from __future__ import annotations

from channels.base import ChannelError
from content_calendar.errors import CalendarError, CommsError, Problem

__all__ = ["CalendarError", "ChannelError", "CommsError", "FeedError", "Problem", "SettingsError", "TemplateError"]


class SettingsError(CommsError):
    """A setting is missing or wrong. The message says which, and what to put instead."""


class FeedError(CommsError):
    def __init__(
        self, url: str, message: str, *, retry: bool = True, retired: bool = False, retry_after: float | None = None
    ) -> None:
        self.url, self.retry, self.retired, self.retry_after = url, retry, retired, retry_after
        super().__init__(f"{url}: {message}")


class TemplateError(CommsError):
    """A template is missing, or Jinja or MJML failed; names the template and line."""

    def __init__(self, template: str, line: int | None, message: str) -> None:
        self.template, self.line = template, line
        where = f"{template}:{line}" if line else template
        super().__init__(f"{where}: {message}")
